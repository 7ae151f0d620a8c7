/**
 * What clusters need to know of the domains above them before a cluster is removed, declared here
 * and implemented by them (src/app/ports.module.ts wires them): clusters reads none of their tables.
 */
export const CLUSTER_OCCUPANTS = Symbol('odc:clusters:occupants');

/** What still lives on a cluster: each answer a count, 0 when the cluster can go. */
export interface ClusterOccupants {
  /** Reservations holding GPUs there (placing to ending); ended ones keep their history. */
  liveReservations(clusterId: string): Promise<number>;
  /** Disks whose volume (or the snapshot a restore waits on) lives there. */
  disksHomed(clusterId: string): Promise<number>;
}
