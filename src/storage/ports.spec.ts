import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Storage's sources (not its specs), recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("storage's boundary with reservations", () => {
  // The lint rule (odc/layers) sees imports; SQL naming another domain's tables it cannot.
  it('reads no reservation table: what it needs of them goes through its ports (ports.ts)', () => {
    const offending = sources(__dirname).filter((file) =>
      /\b(FROM|JOIN|UPDATE|INTO)\s+reservation(s|_events)\b/i.test(readFileSync(file, 'utf8')),
    );
    expect(offending).toEqual([]);
  });
});
