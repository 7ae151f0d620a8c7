import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

/**
 * Characters that make a name show as something other than what it is, or not at all: controls
 * (Cc: U+0000–U+001F, U+007F–U+009F), format characters (Cf: bidirectional overrides such as
 * U+202E, zero-width characters such as U+200B, the BOM), line and paragraph separators (Zl, Zp)
 * and lone surrogates (Cs, which no UTF-8 text can hold).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** An ODC username as callers name other users (reservation users, disk owners). */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

function hex(codePoint: number): string {
  return `\\u${codePoint.toString(16).padStart(4, '0')}`;
}

/**
 * INVISIBLE as a JSON Schema `pattern` for the OpenAPI document (`\uXXXX` ranges, which both
 * ECMAScript and Python regular expressions read): the Basic Multilingual Plane's invisible
 * characters except surrogates (read over UTF-16 units, as ECMAScript does, a class with them
 * would refuse every character beyond the BMP). Lone surrogates and the few format characters
 * beyond the BMP (tags, musical symbol controls) are refused too, but not listed.
 */
function visibleNamePattern(): string {
  const ranges: [number, number][] = [];
  for (let codePoint = 0; codePoint <= 0xffff; codePoint++) {
    if ((codePoint < 0xd800 || codePoint > 0xdfff) && INVISIBLE.test(String.fromCharCode(codePoint))) {
      const last = ranges.at(-1);
      if (last && last[1] === codePoint - 1) {
        last[1] = codePoint;
      } else {
        ranges.push([codePoint, codePoint]);
      }
    }
  }
  const set = ranges.map(([from, to]) => (from === to ? hex(from) : `${hex(from)}-${hex(to)}`)).join('');
  return `^[^${set}]*$`;
}

/** What IsVisibleName accepts, for `@ApiProperty({ pattern })`. */
export const VISIBLE_NAME_PATTERN = visibleNamePattern();

/** The first invisible character of a string, as U+XXXX; undefined when there is none. */
export function invisibleCharacterIn(value: string): string | undefined {
  const match = INVISIBLE.exec(value);
  return match ? `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/**
 * For every name a user chooses (API keys, reservations, disks, clusters): no control or format
 * characters, so a name reads as what it is in the CLI, the logs and the audit trail. A value that
 * is not a string passes: the field's own type check reports it.
 */
export function IsVisibleName(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isVisibleName',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: (args: ValidationArguments) =>
          `${args.property} must not contain control or format characters (found ${invisibleCharacterIn(String(args.value))})`,
        ...options,
      },
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || invisibleCharacterIn(value) === undefined,
      },
    });
}
