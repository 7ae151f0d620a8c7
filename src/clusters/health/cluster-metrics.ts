import { Gauge, type Registry } from 'prom-client';
import type { CapacitySync } from '../capacity/capacity-sync';
import type { ClusterRegistry } from '../registry/cluster-registry';

/**
 * `odc_cluster_healthy` and `odc_cluster_gpus`, read at scrape time from what every replica holds
 * (the registry, the capacity rows): any cron replica reports current figures, whichever one ran
 * the last health round.
 */
export function registerClusterGauges(
  metrics: Registry,
  clusters: ClusterRegistry,
  capacity: CapacitySync,
): void {
  new Gauge({
    name: 'odc_cluster_healthy',
    help: 'Whether an enabled cluster answered its last health check with valid credentials (1) or not (0)',
    labelNames: ['cluster'],
    registers: [metrics],
    collect() {
      this.reset();
      for (const cluster of clusters.all().filter((known) => known.enabled)) {
        this.set({ cluster: cluster.name }, cluster.status === 'healthy' ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'odc_cluster_gpus',
    help: 'GPUs on ready, schedulable nodes at the last capacity sync, by type and state (total, free)',
    labelNames: ['cluster', 'gpu_type', 'state'],
    registers: [metrics],
    async collect() {
      this.reset();
      const names = new Map(clusters.all().map((cluster) => [cluster.id, cluster.name]));
      for (const row of await capacity.all()) {
        const cluster = names.get(row.clusterId);
        if (!cluster || row.gpuType === null || !row.ready || !row.schedulable) {
          continue;
        }
        const labels = { cluster, gpu_type: row.gpuType };
        this.inc({ ...labels, state: 'total' }, row.allocatableGpus);
        this.inc({ ...labels, state: 'free' }, Math.max(0, row.allocatableGpus - row.usedGpus));
      }
    },
  });
}
