import { DataSource } from 'typeorm';
import { ClusterRegistry } from '../../src/clusters/registry/cluster-registry';
import type { TestApp } from './app';
import { eventually } from './eventually';

export interface FleetNode {
  name: string;
  gpuType: string;
  gpus: number;
  /** GPUs held by pods ODC does not manage. */
  foreign?: number;
}

/**
 * A healthy cluster with these nodes, written straight to the database as a capacity sync would
 * leave it (no deployer behind it): for tests of the API and the queue that place nothing.
 */
export async function seedFleet(
  app: TestApp,
  name: string,
  nodes: FleetNode[],
  priority = 100,
): Promise<string> {
  const db = app.core().get(DataSource);
  const [{ id }] = await db.query<[{ id: string }]>(
    `INSERT INTO clusters (name, deployer_url, status, priority) VALUES ($1, 'http://127.0.0.1:9', 'healthy', $2) RETURNING id`,
    [name, priority],
  );
  for (const node of nodes) {
    await db.query(
      `INSERT INTO capacity (cluster_id, node_name, gpu_type, allocatable_gpus, used_gpus, managed_gpus, ready, schedulable, seen_at)
       VALUES ($1, $2, $3, $4, $5, 0, true, true, now())`,
      [id, node.name, node.gpuType, node.gpus, node.foreign ?? 0],
    );
  }
  const registry = app.core().get(ClusterRegistry, { strict: false });
  await eventually(
    () => registry.get(id),
    (cluster) => cluster !== undefined,
  );
  return id;
}
