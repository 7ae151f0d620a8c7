import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FOREIGN_GPUS_SQL, ClusterRegistry } from '../clusters/public';
import { SharedRead } from '../infra/cache/shared-read';
import { ReservationsConfig } from './reservations.config';
import { onlyRow } from '../infra/database/only-row';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { GpuType } from './catalog/gpu-type.entity';
import type { CreateReservationDto } from './dto/reservation.dto';
import { ReservationErrorCode } from './reservation.errors';
import { ReservationQueries } from './reservation-queries';

/** The shortest reservation, and the shortest extension. */
export const MIN_MINUTES = 5;

/** The nodes a new reservation may use: its type, accepting clusters, labels and its disk's pin. */
interface NodeReach {
  gpuType: string;
  clusters: string[];
  labels: Record<string, string>;
  clusterId: string | null;
  zone: string | null;
}

/** Over those nodes: how many, how many have the labels, and the most GPUs one of those offers. */
interface NodeFigures {
  nodes: number;
  labelled: number;
  largest: number;
}

/** Some node of those has the labels and that many GPUs. */
function holds(figures: NodeFigures, gpus: number): boolean {
  return figures.labelled > 0 && figures.largest >= gpus;
}

function gpus(count: number): string {
  return count === 1 ? '1 GPU' : `${count} GPUs`;
}

/** Where a disk that cannot move keeps its reservations: its volume's cluster and zone. */
interface DiskPin {
  clusterId?: string;
  zone?: string;
}

/** A request that passed its checks: its type, its length, and where its disk keeps it (if it cannot move). */
export interface CheckedRequest {
  type: GpuType;
  durationMinutes: number;
  pin?: DiskPin;
}

/**
 * What a new reservation is checked against before it is inserted: the catalog (its type and GPU
 * count), the lengths allowed, a node that could ever hold it (where its disk may go), and, once
 * the insert found a limit passed, which one.
 */
@Injectable()
export class ReservationRequestChecks {
  /** What the nodes a request may use offer at most (keyed by its reach): see assertSomeNodeCanHold. */
  private readonly nodeFigures: SharedRead<NodeFigures, string>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ReservationsConfig,
    private readonly registry: ClusterRegistry,
    private readonly queries: ReservationQueries,
  ) {
    this.nodeFigures = new SharedRead(
      (reach) => this.readNodeFigures(JSON.parse(reach) as NodeReach),
      config.ODC_SHARED_READS_MAX_AGE_SECONDS * 1000,
    );
  }

  /** 400/422 for a request that could never become a reservation, saying why. */
  async check(ownerId: string, request: CreateReservationDto): Promise<CheckedRequest> {
    if (request.no_persist && request.disk === undefined) {
      throw new AppError(
        CommonErrorCode.ValidationFailed,
        'no_persist applies to a disk: name one with disk',
        {
          fields: [{ field: 'no_persist', problems: ['needs disk'] }],
        },
      );
    }
    const type = await this.checkedType(request);
    const durationMinutes = this.checkedMinutes(request, type);
    const pin = request.disk !== undefined ? await this.diskPin(ownerId, request.disk) : undefined;
    await this.assertSomeNodeCanHold(type, request, pin);
    return { type, durationMinutes, ...(pin ? { pin } : {}) };
  }

  private async checkedType(request: CreateReservationDto): Promise<GpuType> {
    const known = await this.queries.catalog();
    const type = known.find((candidate) => candidate.name === request.gpu_type);
    if (!type) {
      throw new AppError(
        ReservationErrorCode.UnknownGpuType,
        `No GPU type ${request.gpu_type}; known: ${known.map((t) => t.name).join(', ')}`,
      );
    }
    if (!type.allowedCounts.includes(request.gpu_count)) {
      throw new AppError(
        ReservationErrorCode.InvalidGpuCount,
        `${type.name} takes ${type.allowedCounts.join(', ')} GPUs per reservation, not ${request.gpu_count}`,
        { allowed_counts: type.allowedCounts },
      );
    }
    return type;
  }

  private checkedMinutes(request: CreateReservationDto, type: GpuType): number {
    const minutes = Math.round(request.hours * 60);
    const maxHours = Math.min(type.maxHours, this.config.ODC_RESERVATION_MAX_HOURS);
    if (minutes < MIN_MINUTES || request.hours > maxHours) {
      throw new AppError(
        ReservationErrorCode.InvalidDuration,
        `hours must be from ${MIN_MINUTES} minutes to ${maxHours} h for ${type.name}`,
        { min_hours: Number((MIN_MINUTES / 60).toFixed(4)), max_hours: maxHours },
      );
    }
    if (request.hours > this.config.ODC_RESERVATION_MAX_LIFETIME_HOURS) {
      throw new AppError(
        ReservationErrorCode.LifetimeExceeded,
        `A reservation lives at most ${this.config.ODC_RESERVATION_MAX_LIFETIME_HOURS} h`,
      );
    }
    return minutes;
  }

  /**
   * Queueing what no node could ever hold would wait forever: refused, with a code for what to
   * change (the type, the labels, the count, or the disk). A disk that cannot move (no current
   * snapshot, or moving is off) limits the nodes to where its volume is; when nodes elsewhere would
   * do, the disk is what stands in the way.
   */
  private async assertSomeNodeCanHold(
    type: GpuType,
    request: CreateReservationDto,
    pin?: DiskPin,
  ): Promise<void> {
    const anywhere = this.reachOf(type, request);
    if (pin) {
      const there = await this.figuresFor({
        ...anywhere,
        clusterId: pin.clusterId ?? null,
        zone: pin.zone ?? null,
      });
      if (holds(there, request.gpu_count)) {
        return;
      }
      const elsewhere = await this.figuresFor(anywhere);
      throw holds(elsewhere, request.gpu_count)
        ? this.diskUnreachable(type, request, pin)
        : this.noNodeFor(type, request, elsewhere);
    }
    const figures = await this.figuresFor(anywhere);
    if (!holds(figures, request.gpu_count)) {
      throw this.noNodeFor(type, request, figures);
    }
  }

  /** The nodes of clusters that take reservations now (enabled, not draining), of its type and labels. */
  private reachOf(type: GpuType, request: CreateReservationDto): NodeReach {
    return {
      gpuType: type.name,
      clusters: this.registry
        .all()
        .filter((cluster) => cluster.enabled && !cluster.draining)
        .map((cluster) => cluster.id),
      labels: request.node_labels ?? {},
      clusterId: null,
      zone: null,
    };
  }

  private figuresFor(reach: NodeReach): Promise<NodeFigures> {
    // Keys in one order, so that equal reaches share their figures.
    const { gpuType, clusters, labels, clusterId, zone } = reach;
    return this.nodeFigures.get(JSON.stringify({ gpuType, clusters, labels, clusterId, zone }));
  }

  /** Why no node anywhere could hold it: no such nodes, none with the labels, or none that large. */
  private noNodeFor(type: GpuType, request: CreateReservationDto, figures: NodeFigures): AppError {
    if (figures.nodes === 0) {
      return new AppError(
        ReservationErrorCode.GpuTypeNotOffered,
        `No cluster taking reservations offers ${type.name} nodes now: choose another GPU type (gpu-dev avail lists what is offered)`,
      );
    }
    if (figures.labelled === 0) {
      return new AppError(
        ReservationErrorCode.NoMatchingNode,
        `No ${type.name} node has the labels ${JSON.stringify(request.node_labels)}: change node_labels, or leave them out`,
        { node_labels: request.node_labels ?? {} },
      );
    }
    const largest = Math.max(0, figures.largest);
    return new AppError(
      ReservationErrorCode.NoNodeLargeEnough,
      `The largest ${type.name} node${request.node_labels ? ' with those labels' : ''} offers ${gpus(largest)} and a reservation never spans nodes: ask for at most ${largest}`,
      { largest_node_gpus: largest },
    );
  }

  private diskUnreachable(type: GpuType, request: CreateReservationDto, pin: DiskPin): AppError {
    const where = this.describePin(pin);
    const why = this.config.ODC_DISK_RESTORE_ELSEWHERE
      ? 'it has no current snapshot to start elsewhere from'
      : 'disks do not move between clusters here';
    const nodes = `${type.name} node${request.node_labels ? ' with those labels' : ''}`;
    return new AppError(
      ReservationErrorCode.DiskUnreachable,
      `Disk ${request.disk} lives on ${where}, where no ${nodes} could hold ${gpus(request.gpu_count)} now, and ${why}: reserve without the disk, or with what ${where} offers`,
      {
        disk: request.disk,
        ...(pin.clusterId ? { cluster: this.registry.get(pin.clusterId)?.name ?? pin.clusterId } : {}),
        ...(pin.zone ? { zone: pin.zone } : {}),
      },
    );
  }

  /** One row of figures, whatever the fleet's size (`labels @> selector` is matchesLabels). */
  private async readNodeFigures(reach: NodeReach): Promise<NodeFigures> {
    const rows = await this.dataSource.query<NodeFigures[]>(
      `SELECT count(*)::int AS nodes,
              count(*) FILTER (WHERE labels @> $3)::int AS labelled,
              coalesce(max(allocatable_gpus - ${FOREIGN_GPUS_SQL}) FILTER (WHERE labels @> $3), 0)::int AS largest
       FROM capacity WHERE gpu_type = $1 AND cluster_id = ANY($2)
         AND ($4::uuid IS NULL OR cluster_id = $4) AND ($5::text IS NULL OR zone = $5)`,
      [reach.gpuType, reach.clusters, JSON.stringify(reach.labels), reach.clusterId, reach.zone],
    );
    return onlyRow(rows, 'reading node figures');
  }

  /**
   * Where the caller's disk of that name holds a reservation when it cannot move: it has a volume,
   * and no current snapshot to restore elsewhere (or moving is off). Undefined when it goes
   * anywhere its snapshot can, or the disk does not exist (DiskHolds.hold answers that).
   */
  private async diskPin(ownerId: string, name: string): Promise<DiskPin | undefined> {
    const [row] = await this.dataSource.query<
      { cluster_id: string | null; zone: string | null; used: boolean; snapshotted: boolean }[]
    >(
      `SELECT d.volume_cluster_id AS cluster_id, d.zone, d.used_since_snapshot AS used,
              EXISTS (SELECT 1 FROM snapshots s WHERE s.disk_id = d.id AND s.status = 'ready') AS snapshotted
       FROM disks d
       WHERE d.owner_id = $1 AND d.name = $2 AND d.deleted_at IS NULL AND d.volume_id IS NOT NULL
         AND d.restore_from IS NULL`,
      [ownerId, name],
    );
    const movable = row && this.config.ODC_DISK_RESTORE_ELSEWHERE && !row.used && row.snapshotted;
    return row && !movable
      ? { ...(row.cluster_id ? { clusterId: row.cluster_id } : {}), ...(row.zone ? { zone: row.zone } : {}) }
      : undefined;
  }

  private describePin(pin: DiskPin): string {
    const cluster = pin.clusterId ? (this.registry.get(pin.clusterId)?.name ?? pin.clusterId) : undefined;
    return [cluster && `cluster ${cluster}`, pin.zone && `zone ${pin.zone}`].filter(Boolean).join(', ');
  }

  /** Which limit a request not inserted by insertWithinLimits would pass. */
  limitReached(
    request: CreateReservationDto,
    held: { gpus: number; ofType: number; queued: number },
  ): AppError {
    const total = held.gpus + request.gpu_count;
    const ofType = held.ofType + request.gpu_count;
    const maxTotal = this.config.ODC_MAX_GPUS_PER_USER;
    const maxOfType = this.config.maxGpusPerUserFor(request.gpu_type);
    if (total > maxTotal || ofType > maxOfType) {
      const [limit, scope] = total > maxTotal ? [maxTotal, 'GPUs'] : [maxOfType, `${request.gpu_type} GPUs`];
      return new AppError(
        ReservationErrorCode.QuotaExceeded,
        `At most ${limit} ${scope} per user, queued and running together; this would make ${total > maxTotal ? total : ofType}`,
        { limit, requested: request.gpu_count },
      );
    }
    return new AppError(
      ReservationErrorCode.QueueLimitReached,
      `At most ${this.config.ODC_MAX_QUEUED_PER_USER} queued reservations per user`,
      { limit: this.config.ODC_MAX_QUEUED_PER_USER },
    );
  }
}
