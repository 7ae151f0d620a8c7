import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { endLogAudit } from './log-audit';
import type { SharedState } from './shared-state';

export default async function teardown(): Promise<void> {
  const holder = globalThis as { odcTestState?: SharedState };
  const state = holder.odcTestState;
  if (!state) {
    return; // another tier's teardown stopped it
  }
  holder.odcTestState = undefined;
  try {
    await stopDatabase(state);
  } finally {
    endLogAudit(state.logAuditDir);
  }
}

async function stopDatabase(state: SharedState): Promise<void> {
  if (state.embedded) {
    await state.embedded.stop('immediate');
    for (const dir of [state.embedded.dataDir, state.embedded.clusterDir]) {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const client = new Client({ connectionString: state.adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'odc\\_t\\_%' OR datname = $1`,
      [state.template],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}
