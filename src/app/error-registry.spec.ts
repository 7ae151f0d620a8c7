import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOYER_LISTENER_ERROR_STATUSES, ERROR_STATUSES } from './error-registry';
import { projectRoot } from './version';

const DOCS = join(projectRoot(), 'docs');

function documentedCodes(file: string): string[] {
  const document = JSON.parse(readFileSync(join(projectRoot(), file), 'utf8')) as {
    components: { schemas: { ErrorCode: { enum: string[] } } };
  };
  return document.components.schemas.ErrorCode.enum;
}

/** Rows of the docs' error tables: "| `code` | 409 | …" (not settings' tables: "| `ODC_…` | 100 |"). */
function tableRows(markdown: string): { code: string; status: number }[] {
  return [...markdown.matchAll(/^\| `([a-z_]+|POLICY_VIOLATION)` +\| ([45]\d\d) +\|/gm)].map(
    ([, code = '', status]) => ({
      code,
      status: Number(status),
    }),
  );
}

describe('the error registry', () => {
  it("is the committed OpenAPI documents' ErrorCode enum, each application's own", () => {
    expect(documentedCodes('openapi.json')).toEqual(Object.keys(ERROR_STATUSES));
    expect(documentedCodes('openapi.deployer.json')).toEqual(Object.keys(DEPLOYER_LISTENER_ERROR_STATUSES));
  });

  it('is what docs/errors.md lists, code for code and status for status', () => {
    const rows = tableRows(readFileSync(join(DOCS, 'errors.md'), 'utf8'));
    expect(new Map(rows.map((row) => [row.code, row.status]))).toEqual(
      new Map(Object.entries(ERROR_STATUSES)),
    );
    expect(rows).toHaveLength(Object.keys(ERROR_STATUSES).length);
  });

  it("agrees with every other doc's error table", () => {
    const statuses: Record<string, number> = ERROR_STATUSES;
    for (const file of readdirSync(DOCS).filter((name) => name.endsWith('.md'))) {
      for (const row of tableRows(readFileSync(join(DOCS, file), 'utf8'))) {
        expect({ file, code: row.code, status: statuses[row.code] }).toEqual({ file, ...row });
      }
    }
  });
});
