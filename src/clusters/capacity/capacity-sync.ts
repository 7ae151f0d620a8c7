import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan, Not } from 'typeorm';
import type { Cluster } from '../cluster.entity';
import type { DeployerClient } from '../client/deployer-client';
import { NodeCapacityRow } from '../node-capacity.entity';
import { capacityRows } from './capacity-rows';

/**
 * Copies a cluster's node report (its deployer's `/capacity`) into capacity rows: every node it
 * reports is upserted, nodes it no longer reports are removed, in one transaction so readers see
 * the whole report or the previous one.
 */
@Injectable()
export class CapacitySync {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async sync(cluster: Cluster, client: DeployerClient, now = new Date()): Promise<number> {
    const report = await client.capacity();
    const rows = capacityRows(cluster.id, cluster.profile, report, now);
    await this.dataSource.transaction(async (tx) => {
      const repository = tx.getRepository(NodeCapacityRow);
      if (rows.length > 0) {
        await repository.upsert(rows, ['clusterId', 'nodeName']);
      }
      await repository.delete({
        clusterId: cluster.id,
        ...(rows.length > 0 ? { nodeName: Not(In(rows.map((row) => row.nodeName))) } : {}),
      });
    });
    return rows.length;
  }

  /** Rows not refreshed since `before` (their cluster stopped answering): unknown is not free. */
  async expire(before: Date): Promise<number> {
    const result = await this.dataSource.getRepository(NodeCapacityRow).delete({ seenAt: LessThan(before) });
    return result.affected ?? 0;
  }

  async rowsOf(clusterId: string): Promise<NodeCapacityRow[]> {
    return this.dataSource
      .getRepository(NodeCapacityRow)
      .find({ where: { clusterId }, order: { nodeName: 'ASC' } });
  }

  async all(): Promise<NodeCapacityRow[]> {
    return this.dataSource.getRepository(NodeCapacityRow).find();
  }
}
