import { fieldValue, matches, parseSelector, SelectorError } from './selectors';

const labels = { app: 'web', tier: 'gpu', 'odc.dev/user': 'alice' };
const lookup = (key: string) => (labels as Record<string, string>)[key];
const select = (selector: string) => matches(parseSelector(selector), lookup);

describe('label selectors', () => {
  it('matches equality and inequality', () => {
    expect(select('app=web')).toBe(true);
    expect(select('app==web,tier=gpu')).toBe(true);
    expect(select('app!=web')).toBe(false);
    expect(select('missing!=x')).toBe(true);
  });

  it('matches set-based requirements and existence', () => {
    expect(select('app in (web, api)')).toBe(true);
    expect(select('app notin (web)')).toBe(false);
    expect(select('tier in (gpu),odc.dev/user')).toBe(true);
    expect(select('!odc.dev/user')).toBe(false);
    expect(select('!missing')).toBe(true);
  });

  it('treats an empty selector as everything', () => {
    expect(matches(parseSelector(''), lookup)).toBe(true);
  });

  it('rejects malformed keys', () => {
    expect(() => parseSelector('a b c')).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  it('reads dotted paths, unset as empty', () => {
    const pod = { metadata: { name: 'p1' }, spec: {}, status: { phase: 'Pending' } };
    expect(fieldValue(pod, 'metadata.name')).toBe('p1');
    expect(fieldValue(pod, 'spec.nodeName')).toBe('');
    expect(matches(parseSelector('spec.nodeName=,status.phase!=Running'), (k) => fieldValue(pod, k))).toBe(
      true,
    );
  });
});
