import { findInputProblem, MAX_BODY_DEPTH } from './input-screening';

/** `depth` levels of arrays (`[[1]]` is 2), or of objects. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  const [open, close] = kind === 'array' ? ['[', ']'] : ['{"a":', '}'];
  return JSON.parse(`${open.repeat(depth)}1${close.repeat(depth)}`);
}

describe('findInputProblem', () => {
  it.each(['array', 'object'] as const)(
    'takes %ss nested up to the limit, and refuses one level more',
    (kind) => {
      expect(findInputProblem(nested(MAX_BODY_DEPTH, kind))).toBeUndefined();
      expect(findInputProblem(nested(MAX_BODY_DEPTH + 1, kind))).toEqual({ kind: 'too_deep' });
      expect(findInputProblem({ spec: nested(MAX_BODY_DEPTH, kind) })).toEqual({ kind: 'too_deep' });
    },
  );

  it('walks without recursion: a million levels are refused, not a stack overflow', () => {
    expect(findInputProblem(nested(1_000_000, 'array'))).toEqual({ kind: 'too_deep' });
  });

  it('finds a NUL in any string or key, by its dotted path', () => {
    expect(findInputProblem({ keys: ['ok', 'a\u0000b'] })).toEqual({ kind: 'nul', field: 'keys.1' });
    expect(findInputProblem({ disk: { name: '\u0000' } })).toEqual({ kind: 'nul', field: 'disk.name' });
    expect(findInputProblem({ labels: { 'a\u0000': 'b' } })).toEqual({
      kind: 'nul',
      field: 'labels.a\\u0000',
    });
    expect(findInputProblem('a\u0000')).toEqual({ kind: 'nul', field: '' });
  });

  it('passes ordinary input, other control characters included (the validators judge those)', () => {
    expect(findInputProblem(undefined)).toBeUndefined();
    expect(
      findInputProblem({ name: 'café 😀 \u202e\t', n: 1, ok: true, none: null, list: [] }),
    ).toBeUndefined();
    expect(findInputProblem(Buffer.from('a\u0000b'))).toBeUndefined();
  });
});
