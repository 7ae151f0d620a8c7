import { ApiKeysService } from '../../src/auth/api-keys/api-keys.service';
import { API_KEY_SCOPES } from '../../src/auth/api-keys/api-key.entity';
import { UsersService } from '../../src/auth/users/users.service';
import { startTestApp, type TestApp } from '../support/app';
import { seedFleet } from '../support/fleet';

/**
 * No user can see or change another user's things: user A makes each resource, user B (with
 * every scope, not an admin) gets 404 on every endpoint that addresses it, exactly as for one that
 * does not exist, and A's resource is unchanged afterwards.
 *
 * Each resource kind is one entry: how A creates it (returning the path segment that addresses
 * it), the calls B tries, and how to check it is still A's. Later issues add their resources here
 * (reservations, disks, snapshots…) as one entry each.
 */
interface OwnedResource {
  name: string;
  create(app: TestApp, ownerKey: string): Promise<string>;
  attempts: (id: string) => { method: 'get' | 'post' | 'put' | 'delete'; path: string; body?: object }[];
  stillOwned(app: TestApp, ownerKey: string, id: string): Promise<boolean>;
}

const RESOURCES: OwnedResource[] = [
  {
    name: 'API key',
    create: async (app, ownerKey) =>
      (
        await app
          .http()
          .post('/api/v1/keys')
          .set('authorization', `Bearer ${ownerKey}`)
          .send({ name: 'owned', scopes: [] })
          .expect(201)
      ).body.id as string,
    attempts: (id) => [
      { method: 'delete', path: `/api/v1/keys/${id}` },
      { method: 'post', path: `/api/v1/keys/${id}/rotate` },
    ],
    stillOwned: async (app, ownerKey, id) => {
      const keys = await app
        .http()
        .get('/api/v1/keys')
        .set('authorization', `Bearer ${ownerKey}`)
        .expect(200);
      return keys.body.items.some((k: { id: string; revoked_at?: string }) => k.id === id && !k.revoked_at);
    },
  },
  {
    name: 'reservation',
    create: async (app, ownerKey) =>
      (
        await app
          .http()
          .post('/api/v1/reservations')
          .set('authorization', `Bearer ${ownerKey}`)
          .send({ gpu_type: 'h100', gpu_count: 1, hours: 1 })
          .expect(202)
      ).body.id as string,
    attempts: (id) => [
      { method: 'get', path: `/api/v1/reservations/${id}` },
      { method: 'post', path: `/api/v1/reservations/${id}/extend`, body: { hours: 1 } },
      { method: 'post', path: `/api/v1/reservations/${id}/jupyter`, body: { enabled: true } },
      { method: 'post', path: `/api/v1/reservations/${id}/users`, body: { username: 'bob' } },
      { method: 'post', path: `/api/v1/reservations/${id}/cancel` },
    ],
    stillOwned: async (app, ownerKey, id) => {
      const res = await app
        .http()
        .get(`/api/v1/reservations/${id}`)
        .set('authorization', `Bearer ${ownerKey}`);
      const listed = await app.http().get('/api/v1/reservations').set('authorization', `Bearer ${ownerKey}`);
      return (
        res.status === 200 &&
        res.body.status === 'queued' &&
        listed.body.items.some((r: { id: string }) => r.id === id)
      );
    },
  },
  {
    // Disks are addressed by name within their owner's: bob's call finds no disk of his by that name.
    name: 'disk',
    create: async (app, ownerKey) =>
      (
        await app
          .http()
          .post('/api/v1/disks')
          .set('authorization', `Bearer ${ownerKey}`)
          .send({ name: 'owned-disk' })
          .expect(201)
      ).body.name as string,
    attempts: (name) => [
      { method: 'get', path: `/api/v1/disks/${name}` },
      { method: 'delete', path: `/api/v1/disks/${name}` },
      { method: 'post', path: `/api/v1/disks/${name}/rename`, body: { new_name: 'taken-over' } },
      { method: 'get', path: `/api/v1/disks/${name}/snapshots` },
      { method: 'post', path: `/api/v1/disks/${name}/snapshots` },
      {
        method: 'post',
        path: `/api/v1/disks/${name}/restore`,
        body: { snapshot_id: '00000000-0000-4000-8000-000000000000' },
      },
    ],
    stillOwned: async (app, ownerKey, name) => {
      const res = await app.http().get(`/api/v1/disks/${name}`).set('authorization', `Bearer ${ownerKey}`);
      return res.status === 200 && res.body.name === name && res.body.status === 'free';
    },
  },
];

describe('ownership: another user’s resources answer 404 on every endpoint', () => {
  let app: TestApp;
  let aliceKey: string;
  let bobKey: string;

  beforeAll(async () => {
    app = await startTestApp({ roles: 'coordinator' });
    await seedFleet(app, 'east', [{ name: 'h-0', gpuType: 'h100', gpus: 8 }]);
    const users = app.core().get(UsersService);
    const keys = app.core().get(ApiKeysService);
    const everything = {
      name: 'all',
      scopes: API_KEY_SCOPES.filter((s) => s !== 'clusters:admin'),
      origin: 'api',
    };
    aliceKey = (await keys.issue((await users.findOrCreateByUsername('alice')).id, everything)).key;
    bobKey = (await keys.issue((await users.findOrCreateByUsername('bob')).id, everything)).key;
  });

  afterAll(() => app.close());

  it.each(RESOURCES.map((resource) => [resource.name, resource] as const))('%s', async (_name, resource) => {
    const id = await resource.create(app, aliceKey);
    for (const attempt of resource.attempts(id)) {
      const http = app.http();
      const res = await http[attempt.method](attempt.path)
        .set('authorization', `Bearer ${bobKey}`)
        .send(attempt.body ?? {});
      expect([attempt.method, attempt.path, res.status, res.body.code]).toEqual([
        attempt.method,
        attempt.path,
        404,
        'not_found',
      ]);
    }
    expect(await resource.stillOwned(app, aliceKey, id)).toBe(true);
  });
});
