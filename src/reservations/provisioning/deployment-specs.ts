import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, type FindOptionsWhere } from 'typeorm';
import { User } from '../../auth/public';
import type { Cluster } from '../../clusters/public';
import type { DeploymentSpec } from '../../deployer/public';
import { ReservationsConfig } from '../reservations.config';
import { Disk } from '../../storage/public';
import { GpuType } from '../catalog/gpu-type.entity';
import { Reservation } from '../reservation.entity';
import { buildDeploymentSpec, noticeText } from './manifests';

/** What specs are built from besides the reservation: its owner, secondary users and GPU type. */
export interface SpecSources {
  users: User[];
  types: GpuType[];
}

/**
 * A placed reservation's objects for its cluster, from what the database says now: its owner's and
 * secondary users' SSH keys, its GPU type, its expiry (and a warning) in the notice file. The same
 * spec is applied at provisioning and again when any of those change (apply is idempotent).
 */
@Injectable()
export class DeploymentSpecs {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ReservationsConfig,
  ) {}

  /**
   * The users and GPU types the specs of these reservations are built from, in two statements
   * whatever their number (a provisioning batch builds all of its specs from one read).
   */
  async sourcesFor(
    reservations: Pick<Reservation, 'ownerId' | 'secondaryUsers' | 'gpuType'>[],
  ): Promise<SpecSources> {
    const owners = [...new Set(reservations.map((r) => r.ownerId))];
    const secondary = [...new Set(reservations.flatMap((r) => r.secondaryUsers))];
    const where: FindOptionsWhere<User>[] = [{ id: In(owners) }];
    if (secondary.length > 0) {
      where.push({ username: In(secondary), disabled: false });
    }
    const [users, types] = await Promise.all([
      owners.length > 0 ? this.dataSource.getRepository(User).find({ where }) : Promise.resolve([]),
      this.dataSource
        .getRepository(GpuType)
        .findBy({ name: In([...new Set(reservations.map((r) => r.gpuType))]) }),
    ]);
    return { users, types };
  }

  /**
   * The same, for reservations read with their `owner` and `type` relations: only secondary users
   * are read (none when none has any).
   */
  async sourcesWith(reservations: Reservation[]): Promise<SpecSources> {
    const users = new Map<string, User>();
    const types = new Map<string, GpuType>();
    for (const { owner, type } of reservations) {
      if (!owner || !type) {
        return this.sourcesFor(reservations);
      }
      users.set(owner.id, owner);
      types.set(type.name, type);
    }
    const secondary = [...new Set(reservations.flatMap((r) => r.secondaryUsers))];
    if (secondary.length > 0) {
      const found = await this.dataSource
        .getRepository(User)
        .findBy({ username: In(secondary), disabled: false });
      found.forEach((user) => users.set(user.id, user));
    }
    return { users: [...users.values()], types: [...types.values()] };
  }

  /**
   * One reservation's sources: its owner and GPU type read with its row (one statement), its
   * secondary users apart when it has any.
   */
  private async sourcesOf(reservation: Reservation): Promise<SpecSources> {
    if (reservation.owner && reservation.type) {
      return this.sourcesWith([reservation]);
    }
    // find, not findOne: with joins, findOne's LIMIT makes TypeORM send two statements.
    const [related] = await this.dataSource.getRepository(Reservation).find({
      where: { id: reservation.id },
      relations: { owner: true, type: true },
    });
    return this.sourcesWith([{ ...reservation, owner: related?.owner, type: related?.type } as Reservation]);
  }

  /** `sources`: from sourcesFor or sourcesWith (read here when not given). */
  async build(
    reservation: Reservation,
    cluster: Cluster,
    warning?: string,
    sources?: SpecSources,
  ): Promise<DeploymentSpec> {
    if (!reservation.nodeName) {
      throw new Error(`reservation ${reservation.id} has no node`);
    }
    const { users, types } = sources ?? (await this.sourcesOf(reservation));
    const owner = users.find((user) => user.id === reservation.ownerId);
    const type = types.find((candidate) => candidate.name === reservation.gpuType);
    if (!owner || !type) {
      throw new Error(
        `reservation ${reservation.id}: ${owner ? `no GPU type ${reservation.gpuType}` : `no owner ${reservation.ownerId}`}`,
      );
    }
    const secondary = users.filter(
      (user) => !user.disabled && reservation.secondaryUsers.includes(user.username),
    );
    const diskClaim = reservation.diskId ? await this.diskClaim(reservation, cluster) : undefined;
    return buildDeploymentSpec({
      reservation: { ...reservation, nodeName: reservation.nodeName },
      ...(diskClaim ? { disk: { claimName: diskClaim } } : {}),
      owner: { id: owner.id, username: owner.username, sshKeys: owner.sshKeys },
      secondaryUsers: secondary.map((user) => ({ username: user.username, sshKeys: user.sshKeys })),
      cluster: { name: cluster.name, profile: cluster.profile },
      gpuType: { name: type.name, resourceName: type.resourceName },
      defaultImage: this.config.ODC_DEFAULT_IMAGE,
      notice: noticeText({
        externalId: reservation.externalId,
        username: owner.username,
        expiresAt: reservation.expiresAt,
        minutes: reservation.durationMinutes + reservation.extendedMinutes,
        ...(warning ? { warning } : {}),
      }),
    });
  }

  /** The claim its disk is mounted by on this cluster (provisioning attached it first). */
  private async diskClaim(
    reservation: Pick<Reservation, 'id' | 'diskId'>,
    cluster: Cluster,
  ): Promise<string> {
    const disk = await this.dataSource
      .getRepository(Disk)
      .findOneBy({ id: reservation.diskId!, inUseBy: reservation.id });
    if (!disk?.claimName || disk.attachedClusterId !== cluster.id) {
      throw new Error(`reservation ${reservation.id}'s disk is not attached on ${cluster.name}`);
    }
    return disk.claimName;
  }
}
