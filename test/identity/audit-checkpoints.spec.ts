import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AuditCheckpointTask } from '../../src/audit/audit-checkpoint.task';
import type { Checkpoint } from '../../src/audit/audit-chain';
import { keyFor } from '../support/users';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';

/**
 * End to end: the cron role signs the chain's head and copies it out of the
 * database (log, metric, URL); an admin hands a copy back to POST /audit/verify, which then sees
 * rows deleted from the end even after the stored checkpoints were deleted too.
 */
describe('audit checkpoints: signed by cron, kept outside the database, held against the chain', () => {
  let app: TestApp;
  let receiver: Server;
  const received: Checkpoint[] = [];
  let adminKey: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push((JSON.parse(body) as { checkpoint: Checkpoint }).checkpoint);
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    app = await startTestApp({
      roles: 'coordinator,cron',
      env: {
        ODC_AUDIT_CHECKPOINT_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/checkpoints`,
        ODC_AUDIT_CHECKPOINT_SECONDS: '3600',
      },
    });
    adminKey = await keyFor(app, 'auditor', ['audit:read'], { admin: true });
  });

  afterAll(async () => {
    await app.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const verify = (checkpoint?: Checkpoint) =>
    checkpoint
      ? app
          .http()
          .post('/api/v1/audit/verify')
          .set('authorization', `Bearer ${adminKey}`)
          .send({ checkpoint })
      : app.http().get('/api/v1/audit/verify').set('authorization', `Bearer ${adminKey}`);

  it('signs a checkpoint at start and each round: stored, logged, exported and POSTed to the URL', async () => {
    await eventually(
      () => received.length,
      (count) => count >= 1,
    );
    for (let i = 0; i < 3; i += 1) {
      await app.http().get('/api/v1/audit').set('authorization', 'Bearer odc_nope_nope').expect(401); // audited
    }
    const checkpoint = await app.core().get(AuditCheckpointTask).checkpoint();
    expect(received.at(-1)).toEqual(checkpoint);
    const logged = app.logs.lines.filter((line) => line.msg === 'audit chain checkpoint');
    expect(logged.at(-1)).toMatchObject({ checkpoint });
    const metrics = (await app.http().get('/metrics').expect(200)).text;
    expect(metrics).toContain(`odc_audit_chain_rows ${checkpoint.rows}`);
    expect(metrics).toContain(`signature="${checkpoint.signature}"`);
    expect((await verify().expect(200)).body).toMatchObject({ ok: true, checkpoint });
    expect((await verify(checkpoint).expect(200)).body).toMatchObject({ ok: true });
  });

  it('reports truncation against the copy POSTed out, after the rows and the stored checkpoints are deleted', async () => {
    const outside = received.at(-1)!;
    const dataSource = app.core().get(DataSource);
    await dataSource.query(
      'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id DESC LIMIT 2)',
    );
    await dataSource.query('DELETE FROM audit_checkpoints');
    const verdict = (await verify(outside).expect(200)).body;
    expect(verdict).toMatchObject({ ok: false, problem: 'truncated' });
    // A checkpoint altered on the way (more rows than signed) is refused, not believed.
    expect((await verify({ ...outside, rows: outside.rows + 10 }).expect(200)).body).toMatchObject({
      ok: false,
      problem: 'bad_checkpoint',
    });
    await verify({ ...outside, signature: 'zz' }).expect(400);
  });
});
