import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { User } from '../../auth/users/user.entity';
import type { Cluster } from '../../clusters/cluster.entity';
import type { DeploymentSpec } from '../../deployer/contract';
import { AppConfig } from '../../infra/config/env';
import { Disk } from '../../storage/disks/disk.entity';
import { GpuType } from '../catalog/gpu-type.entity';
import type { Reservation } from '../reservation.entity';
import { buildDeploymentSpec, noticeText } from './manifests';

/**
 * A placed reservation's objects for its cluster, from what the database says now: its owner's and
 * secondary users' SSH keys, its GPU type, its expiry (and a warning) in the notice file. The same
 * spec is applied at provisioning and again when any of those change (apply is idempotent).
 */
@Injectable()
export class DeploymentSpecs {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async build(reservation: Reservation, cluster: Cluster, warning?: string): Promise<DeploymentSpec> {
    if (!reservation.nodeName) {
      throw new Error(`reservation ${reservation.id} has no node`);
    }
    const users = this.dataSource.getRepository(User);
    const [owner, secondary, type] = await Promise.all([
      users.findOneByOrFail({ id: reservation.ownerId }),
      reservation.secondaryUsers.length > 0
        ? users.findBy({ username: In(reservation.secondaryUsers), disabled: false })
        : Promise.resolve([]),
      this.dataSource.getRepository(GpuType).findOneByOrFail({ name: reservation.gpuType }),
    ]);
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
        ...(warning ? { warning } : {}),
      }),
    });
  }

  /** The claim its disk is mounted by on this cluster (provisioning attached it first). */
  private async diskClaim(reservation: Reservation, cluster: Cluster): Promise<string> {
    const disk = await this.dataSource
      .getRepository(Disk)
      .findOneBy({ id: reservation.diskId!, inUseBy: reservation.id });
    if (!disk?.claimName || disk.attachedClusterId !== cluster.id) {
      throw new Error(`reservation ${reservation.id}'s disk is not attached on ${cluster.name}`);
    }
    return disk.claimName;
  }
}
