import { validateSync } from 'class-validator';
import { invisibleCharacterIn, IsVisibleName } from './name-validators';

class Named {
  @IsVisibleName()
  name: unknown;
}

function problemsOf(name: unknown): string[] {
  return validateSync(Object.assign(new Named(), { name })).flatMap((e) =>
    Object.values(e.constraints ?? {}),
  );
}

describe('IsVisibleName', () => {
  it.each([
    ['a bidirectional override', 'evil\u202etxt.exe', 'U+202E'],
    ['a zero-width space', 'zero\u200bwidth', 'U+200B'],
    ['a byte-order mark', '\ufeffname', 'U+FEFF'],
    ['NUL', 'a\u0000b', 'U+0000'],
    ['an escape (terminal colours)', '\u001b[31mred', 'U+001B'],
    ['a newline', 'two\nlines', 'U+000A'],
    ['DEL', 'a\u007f', 'U+007F'],
    ['a C1 control', 'a\u0085', 'U+0085'],
    ['a line separator', 'a\u2028b', 'U+2028'],
    ['a lone surrogate', 'a\ud800', 'U+D800'],
  ])('refuses %s, naming the field and the character', (_what, name, codePoint) => {
    expect(problemsOf(name)).toEqual([
      `name must not contain control or format characters (found ${codePoint})`,
    ]);
  });

  it.each(['laptop', 'CI key #2', 'café', '日本語', 'İstanbul', 'e\u0301', '😀', 'tab-free'])(
    'accepts %j',
    (name) => {
      expect(problemsOf(name)).toEqual([]);
    },
  );

  it('leaves values that are not strings to the type checks', () => {
    expect(problemsOf(42)).toEqual([]);
    expect(invisibleCharacterIn('plain')).toBeUndefined();
  });
});
