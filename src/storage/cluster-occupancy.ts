import type { DataSource } from 'typeorm';

/**
 * Clusters' question before a cluster is removed (src/clusters/ports.ts): disks that would lose
 * their home there, by their volume or by the snapshot a pending restore starts from.
 */
export async function disksHomedOn(dataSource: DataSource, clusterId: string): Promise<number> {
  const [row] = await dataSource.query<{ disks: number }[]>(
    `SELECT count(*)::int AS disks FROM disks d
     WHERE d.status <> 'purged' AND (d.volume_cluster_id = $1
       OR d.restore_from IN (SELECT s.id FROM snapshots s WHERE s.cluster_id = $1))`,
    [clusterId],
  );
  return row?.disks ?? 0;
}
