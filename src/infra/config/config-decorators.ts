import 'reflect-metadata';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min, registerDecorator } from 'class-validator';

const secretKeys = new Set<string>();

/** Marks a variable whose value must never be printed (logs, errors, responses). */
export function Secret(): PropertyDecorator {
  return (_target, key) => {
    secretKeys.add(String(key));
  };
}

export function isSecret(key: string): boolean {
  return secretKeys.has(key);
}

export function toBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') {
    return value;
  }
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) {
    return true;
  }
  if (['false', '0', 'no', 'off', ''].includes(normalized)) {
    return false;
  }
  return value;
}

// Numbers are converted only when the whole string is numeric, so "8080abc" fails validation
// instead of silently becoming 8080.
export function toNumber({ value }: { value: unknown }): unknown {
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) {
    return Number(value);
  }
  return value;
}

export function emptyToUndefined({ value }: { value: unknown }): unknown {
  return value === '' ? undefined : value;
}

function isPostgresUrl(value: unknown): boolean {
  try {
    const url = new URL(String(value));
    return ['postgres:', 'postgresql:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A postgres:// URL with a host (the port, if any, in range): what `pg` will actually connect with. */
export function IsPostgresUrl(message: string): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'isPostgresUrl',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: { validate: isPostgresUrl },
      options: { message },
    });
  };
}

/** A number no larger than another setting's (both numbers: their own checks report the rest). */
export function NotAbove(other: string): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'notAbove',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown, args) => {
          const limit = (args?.object as Record<string, unknown> | undefined)?.[other];
          return typeof value !== 'number' || typeof limit !== 'number' || value <= limit;
        },
      },
      options: { message: `${String(propertyName)} must not be above ${other}` },
    });
  };
}

/** A TCP port; 0 asks the OS for a free one (tests). */
export function IsPort(): PropertyDecorator {
  return applyDecorators(Transform(toNumber), IsInt(), Min(0), Max(65535));
}

/** A 32-byte key, base64 (44 characters) or hex (64): ODC_MASTER_KEY and ODC_AUDIT_KEY. */
const KEY_32_TEXT = '(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})';
export const KEY_32 = new RegExp(`^${KEY_32_TEXT}$`);
/** A comma list of them (or nothing): the previous keys that still decrypt or verify. */
export const KEY_32_LIST = new RegExp(`^(?:${KEY_32_TEXT}(?:\\s*,\\s*${KEY_32_TEXT})*)?$`);

/** What a rule across variables found wrong, reported against the variable to change. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/**
 * A check across variables: of its own section and of the sections it reads (their types joined in
 * `T`). It runs on the converted values once every variable of its section passed its own checks.
 */
export type ConfigRule<T> = (config: T) => ConfigProblem | undefined;

const sectionRules = new Map<object, ConfigRule<never>[]>();

/** Registers a section's rules across variables (see ConfigRule); the loader runs them. */
export function ConfigRules<T>(...rules: ConfigRule<T>[]): ClassDecorator {
  return (target) => {
    sectionRules.set(target, [...(sectionRules.get(target) ?? []), ...(rules as ConfigRule<never>[])]);
  };
}

export function rulesOf<T>(section: object): ConfigRule<T>[] {
  return (sectionRules.get(section) ?? []) as ConfigRule<T>[];
}
