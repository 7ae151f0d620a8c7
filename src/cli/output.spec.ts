import { progressLine, renderProgress, rowsOf } from './output';

const LINE = 'work (05f5cbdd): queued, #3 in the h100 queue, about 2 h 10 min to wait';

describe('rowsOf', () => {
  it('counts wrapped rows at a known width, ignoring colour codes', () => {
    expect(rowsOf('x'.repeat(80), 80)).toBe(1);
    expect(rowsOf('x'.repeat(81), 80)).toBe(2);
    expect(rowsOf(`\x1b[33m${'x'.repeat(80)}\x1b[39m`, 80)).toBe(1);
    expect(rowsOf('one\ntwo', 80)).toBe(2);
  });

  it.each([
    ['0 (some CI terminals)', 0],
    ['unknown', undefined],
    ['negative', -1],
  ])('counts a row per line when the width is %s', (_what, width) => {
    expect(rowsOf(LINE, width)).toBe(1);
    expect(rowsOf(`${LINE}\n${LINE}`, width)).toBe(2);
  });

  it('counts a row per character at width 1', () => {
    expect(rowsOf('abc', 1)).toBe(3);
  });
});

describe('renderProgress', () => {
  it.each([
    [0, 1],
    [1, LINE.length],
    [undefined, 1],
    [80, 1],
  ])('at width %s: one cursor move back over the last line, whatever its height', (width, rows) => {
    const first = renderProgress(0, LINE, width);
    expect(first).toEqual({ output: `\r\x1b[0J${LINE}`, rows });
    const second = renderProgress(first.rows, LINE, width);
    expect(second.rows).toBe(rows);
    expect(second.output).toBe(`\r${rows > 1 ? `\x1b[${rows - 1}A` : ''}\x1b[0J${LINE}`);
  });

  it('stays the size of the text at width 0, 1 or unknown, where it looped writing without end', () => {
    for (const width of [0, 1, undefined]) {
      let rows = 0;
      let written = 0;
      for (let i = 0; i < 100; i += 1) {
        const rendered = renderProgress(rows, LINE, width);
        rows = rendered.rows;
        written += rendered.output.length;
      }
      expect(written).toBeLessThan(100 * (LINE.length + 16));
    }
  });
});

describe('progressLine', () => {
  it('draws, redraws and ends on a 0-column terminal without flooding it', () => {
    const writes: string[] = [];
    const stream = { columns: 0, write: (text: string) => writes.push(text) };
    const line = progressLine(stream, 'queued');
    line.update('starting');
    line.done(true, 'ready');
    line.stop();
    const all = writes.join('');
    expect(all).toContain('queued');
    expect(all).toContain('starting');
    expect(all.endsWith('ready\n')).toBe(true);
    expect(all.length).toBeLessThan(200);
  });
});
