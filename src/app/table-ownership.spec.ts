import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SRC = join(__dirname, '..');

/** A folder's sources (not its specs), recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

function naming(folder: string, tables: string[]): string[] {
  const sql = new RegExp(`\\b(FROM|JOIN|UPDATE|INTO)\\s+(${tables.join('|')})\\b`, 'i');
  return sources(join(SRC, folder)).filter((file) => sql.test(readFileSync(file, 'utf8')));
}

// The lint rule (odc/layers) sees imports; SQL naming a higher domain's tables it cannot. What a
// lower domain needs of a higher one goes through the ports it declares (docs/architecture.md).
describe('tables are read by the domain that owns them or one above it', () => {
  it("storage's SQL names no reservation table", () => {
    expect(naming('storage', ['reservations', 'reservation_events'])).toEqual([]);
  });

  it("clusters' SQL names no reservation or storage table", () => {
    expect(naming('clusters', ['reservations', 'reservation_events', 'disks', 'snapshots'])).toEqual([]);
  });
});
