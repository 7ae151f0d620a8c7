import { createHash, createHmac, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { canonicalJson } from '../../../src/audit/canonical-json';
import { AuditService } from '../../../src/audit/audit.service';
import { loadAppConfig } from '../../../src/app/config';
import { keyIdFor, parseMasterKey } from '../../../src/infra/crypto/master-keys';
import { mediumDatabase, type MediumDatabase } from '../../support/medium';

interface Row {
  id: string;
  timestamp: Date;
  user_id: string | null;
  username: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  request_metadata: unknown;
  bedrock_request_id: string | null;
  bedrock_tokens_used: number | null;
}

/**
 * Someone who can write the database but does not hold the audit key can neither rewrite the
 * chain (recomputing hashes with the app's old, unkeyed function) nor cut rows off its end
 * unnoticed.
 */
describe('the keyed audit chain and its checkpoints, against a database writer', () => {
  let database: MediumDatabase;
  let dataSource: DataSource;
  let audit: AuditService;
  const auditKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    database = await mediumDatabase({ poolSize: 4 });
    dataSource = database.dataSource;
    audit = new AuditService(dataSource, loadAppConfig({ NODE_ENV: 'test', ODC_AUDIT_KEY: auditKey }));
  });

  afterAll(async () => {
    await database.close();
  });

  beforeEach(async () => {
    await dataSource.query('TRUNCATE audit_log, audit_checkpoints');
    for (let i = 0; i < 6; i += 1) {
      await audit.record({
        action: `act.${i}`,
        outcome: 'success',
        username: 'alice',
        requestMetadata: { i },
      });
    }
  });

  const ids = async () =>
    (
      await dataSource.query<{ id: string }[]>('SELECT id::text AS id FROM audit_log ORDER BY audit_log.id')
    ).map((r) => r.id);

  /** What an attacker with SQL access does: rewrite a row, then recompute its hash and every later one. */
  async function rewriteAndRechain(
    target: string,
    hash: (prev: Buffer, row: Row) => Buffer,
    keyId: string | null,
  ) {
    await dataSource.query(`UPDATE audit_log SET username = 'mallory' WHERE id = $1`, [target]);
    const rows = await dataSource.query<(Row & { prev_hash: Buffer })[]>(
      'SELECT * FROM audit_log WHERE id >= $1 ORDER BY id',
      [target],
    );
    let prev = rows[0]!.prev_hash;
    for (const row of rows) {
      const next = hash(prev, row);
      await dataSource.query('UPDATE audit_log SET prev_hash = $1, hash = $2, key_id = $3 WHERE id = $4', [
        prev,
        next,
        keyId,
        row.id,
      ]);
      prev = next;
    }
  }

  /** v1's row hash: SHA-256 over the previous hash and the canonical content, which anyone can compute. */
  const unkeyed = (prev: Buffer, row: Row) =>
    createHash('sha256')
      .update(prev)
      .update(canonicalJson(content(row)))
      .digest();

  const content = (row: Row) => [
    new Date(row.timestamp).toISOString(),
    row.user_id,
    row.username,
    row.action,
    row.resource_type,
    row.resource_id,
    row.outcome,
    row.ip,
    row.user_agent,
    row.request_id,
    row.request_metadata,
    row.bedrock_request_id,
    row.bedrock_tokens_used,
  ];

  it('holds when untouched, and names the rewritten row when the unkeyed function was used to re-chain', async () => {
    expect(await audit.verifyChain()).toEqual({ ok: true, checked: 6 });
    const third = (await ids())[2]!;
    await rewriteAndRechain(third, unkeyed, null);
    expect(await audit.verifyChain()).toMatchObject({
      ok: false,
      problem: 'rewritten',
      first_broken_id: third,
    });
  });

  it('catches the whole chain re-chained unkeyed (as if written before keys) against a checkpoint, and only then', async () => {
    const checkpoint = await audit.checkpoint();
    const [first] = await ids();
    await rewriteAndRechain(first!, unkeyed, null);
    expect(await audit.verifyChain()).toMatchObject({ ok: false, problem: 'rewritten' });
    // With the stored checkpoints deleted too, the database alone looks like one from before keys:
    // only a checkpoint kept outside it tells (docs/identity.md says so).
    await dataSource.query('TRUNCATE audit_checkpoints');
    expect(await audit.verifyChain()).toMatchObject({ ok: true });
    expect(await audit.verifyChain(checkpoint)).toMatchObject({ ok: false, problem: 'rewritten' });
  });

  it('names the rewritten row when re-chained under another key, and refuses rows under a key it does not hold', async () => {
    const theirs = randomBytes(32);
    const ourKeyId = keyIdFor(parseMasterKey(auditKey));
    const [first] = await ids();
    await rewriteAndRechain(
      first!,
      (prev, row) =>
        createHmac('sha256', theirs)
          .update('row\n')
          .update(prev)
          .update(canonicalJson([ourKeyId, ...content(row)]))
          .digest(),
      ourKeyId,
    );
    expect(await audit.verifyChain()).toMatchObject({
      ok: false,
      problem: 'rewritten',
      first_broken_id: first,
    });

    const stranger = new AuditService(
      dataSource,
      loadAppConfig({ NODE_ENV: 'test', ODC_AUDIT_KEY: theirs.toString('hex') }),
    );
    await dataSource.query('TRUNCATE audit_log');
    await stranger.record({ action: 'forged', outcome: 'success' });
    expect(await audit.verifyChain()).toMatchObject({ ok: false, problem: 'unknown_key' });
  });

  it('detects rows deleted from the end against the stored checkpoint, and against one kept outside once that is gone too', async () => {
    const checkpoint = await audit.checkpoint();
    expect(checkpoint).toMatchObject({ rows: 6, last_id: (await ids()).at(-1) });
    expect(await audit.verifyChain()).toMatchObject({ ok: true, checked: 6, checkpoint });
    await audit.record({ action: 'after', outcome: 'success' });
    expect(await audit.verifyChain()).toMatchObject({ ok: true, checked: 7 });

    // The newest rows deleted: the chain that is left is intact, the checkpoint says there was more.
    await dataSource.query(
      'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id DESC LIMIT 3)',
    );
    expect(await audit.verifyChain()).toMatchObject({ ok: false, problem: 'truncated', checked: 4 });

    // A writer who also deletes the stored checkpoints is caught by the copy in the log or at the URL.
    await dataSource.query('TRUNCATE audit_checkpoints');
    expect(await audit.verifyChain()).toMatchObject({ ok: true, checked: 4 });
    expect(await audit.verifyChain(checkpoint)).toMatchObject({ ok: false, problem: 'truncated' });
  });

  it('detects a rewrite of the checkpoint row itself, and refuses a checkpoint whose signature does not hold', async () => {
    const checkpoint = await audit.checkpoint();
    await dataSource.query(`UPDATE audit_checkpoints SET rows = 3`);
    expect(await audit.verifyChain()).toMatchObject({ ok: false, problem: 'bad_checkpoint' });
    await dataSource.query('TRUNCATE audit_checkpoints');
    expect(await audit.verifyChain({ ...checkpoint, rows: 5 })).toMatchObject({
      ok: false,
      problem: 'bad_checkpoint',
    });
    // The head hash in a signed checkpoint must be the row's: a rewritten last row shows there.
    const last = (await ids()).at(-1);
    await dataSource.query(`UPDATE audit_log SET hash = $1 WHERE id = $2`, [randomBytes(32), last]);
    expect(await audit.verifyChain(checkpoint)).toMatchObject({
      ok: false,
      problem: 'rewritten',
      first_broken_id: last,
    });
  });

  it('counts from the last checkpoint: successive checkpoints agree with a full count', async () => {
    await audit.checkpoint();
    for (let i = 0; i < 4; i += 1) {
      await audit.record({ action: 'more', outcome: 'success' });
    }
    expect((await audit.checkpoint()).rows).toBe(10);
    expect(await audit.verifyChain()).toMatchObject({ ok: true, checked: 10 });
  });

  it('verifies rows from before keys (plain SHA-256) followed by keyed ones, but not a plain row after a keyed one', async () => {
    const rows = await dataSource.query<Row[]>('SELECT * FROM audit_log ORDER BY id');
    // The first three as the app wrote them before keys: no key id, a plain hash chain.
    let prev = Buffer.alloc(32);
    for (const row of rows.slice(0, 3)) {
      const next = createHash('sha256')
        .update(prev)
        .update(canonicalJson(content(row)))
        .digest();
      await dataSource.query('UPDATE audit_log SET prev_hash = $1, hash = $2, key_id = NULL WHERE id = $3', [
        prev,
        next,
        row.id,
      ]);
      prev = next;
    }
    // The fourth was keyed over the third's old hash: re-key it over the new one, as the app would have.
    const fresh = new AuditService(dataSource, loadAppConfig({ NODE_ENV: 'test', ODC_AUDIT_KEY: auditKey }));
    await dataSource.query('DELETE FROM audit_log WHERE id > $1', [rows[2]!.id]);
    await fresh.record({ action: 'keyed', outcome: 'success' });
    expect(await audit.verifyChain()).toEqual({ ok: true, checked: 4 });

    // A plain row after the keyed one: the downgrade is a rewrite.
    const [last] = await dataSource.query<[Row]>('SELECT * FROM audit_log ORDER BY id DESC LIMIT 1');
    const lastHash = (
      await dataSource.query<{ hash: Buffer }[]>('SELECT hash FROM audit_log WHERE id = $1', [last.id])
    )[0]!.hash;
    const forged = { ...last, action: 'plain' };
    await dataSource.query(
      `INSERT INTO audit_log (timestamp, action, outcome, prev_hash, hash) VALUES ($1, 'plain', 'success', $2, $3)`,
      [
        last.timestamp,
        lastHash,
        createHash('sha256')
          .update(lastHash)
          .update(
            canonicalJson(content({ ...forged, user_id: null, username: null, request_metadata: null })),
          )
          .digest(),
      ],
    );
    expect(await audit.verifyChain()).toMatchObject({ ok: false, problem: 'rewritten' });
  });

  it('verifies rows under an earlier key while it is listed in ODC_AUDIT_KEYS_PREVIOUS', async () => {
    const next = randomBytes(32).toString('base64');
    const rotated = new AuditService(
      dataSource,
      loadAppConfig({ NODE_ENV: 'test', ODC_AUDIT_KEY: next, ODC_AUDIT_KEYS_PREVIOUS: auditKey }),
    );
    await rotated.record({ action: 'under the new key', outcome: 'success' });
    expect(await rotated.verifyChain()).toMatchObject({ ok: true, checked: 7 });
    const forgetful = new AuditService(dataSource, loadAppConfig({ NODE_ENV: 'test', ODC_AUDIT_KEY: next }));
    expect(await forgetful.verifyChain()).toMatchObject({ ok: false, problem: 'unknown_key' });
  });
});
