import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditEntry, AuditService, type AuditContext, type RecordUsageDto } from '../../audit/public';
import { AppError, CommonErrorCode } from '../../infra/errors/app-error';
import type { Principal } from '../principal';
import { User } from '../users/user.entity';

/** The audit log's action for usage of an external service. */
export const USAGE_ACTION = 'usage.record';

/** Whose report a usage row is: the reporting user (rows from before it was kept: the user's own). */
function reporterOf(row: AuditEntry): string | null {
  const reporter = row.requestMetadata?.reported_by;
  return typeof reporter === 'string' ? reporter : row.userId;
}

/** Usage of external services (Bedrock) that callers report, kept in the audit log. */
@Injectable()
export class UsageService {
  constructor(
    private readonly audit: AuditService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Records usage of an external service (Bedrock) for the caller, or for another existing user
   * when the caller is an admin. Idempotent on the Bedrock request id per reporting credential's
   * user (the reporting service): a repeat with the same user, token count and model returns the
   * row already written (`created: false`), one with other values is a 409. Another reporter's row
   * under the same id is none of this one's business (it could not block a real report). The check
   * and the append hold the chain's lock, so concurrent repeats write one row.
   */
  async recordUsage(
    principal: Principal,
    usage: RecordUsageDto,
    context: AuditContext,
  ): Promise<{ entry: AuditEntry; created: boolean }> {
    const target = await this.usageOwner(principal, usage.username);
    const model = usage.model ?? null;
    return this.audit.withChainLock(async (tx) => {
      const existing = (
        await tx
          .getRepository(AuditEntry)
          .findBy({ action: USAGE_ACTION, bedrockRequestId: usage.bedrock_request_id })
      ).find((row) => reporterOf(row) === principal.userId);
      if (existing) {
        const same =
          existing.userId === target.id &&
          existing.bedrockTokensUsed === usage.tokens_used &&
          (existing.requestMetadata?.model ?? null) === model;
        if (!same) {
          throw new AppError(
            CommonErrorCode.Conflict,
            `Usage of Bedrock request ${usage.bedrock_request_id} is already recorded with other values`,
          );
        }
        return { entry: existing, created: false };
      }
      const entry = await this.audit.record(
        {
          action: USAGE_ACTION,
          outcome: 'success',
          userId: target.id,
          username: target.username,
          ...context,
          requestMetadata: {
            ...(model !== null ? { model } : {}),
            ...(usage.metadata !== undefined ? { metadata: usage.metadata } : {}),
            reported_by: principal.userId,
            ...(target.id !== principal.userId ? { recorded_by: principal.username } : {}),
          },
          bedrockRequestId: usage.bedrock_request_id,
          bedrockTokensUsed: usage.tokens_used,
        },
        tx,
      );
      return { entry, created: true };
    });
  }

  /** Whose usage it is: the caller's own, or (admins only) an existing user's. */
  private async usageOwner(
    principal: Principal,
    username: string | null | undefined,
  ): Promise<{ id: string; username: string }> {
    // JSON's null says "not given" as well as leaving the field out.
    if (username === undefined || username === null || username === principal.username) {
      return { id: principal.userId, username: principal.username };
    }
    if (!principal.admin) {
      throw new AppError(CommonErrorCode.Forbidden, 'Only an admin may record usage for another user');
    }
    const user = await this.dataSource.getRepository(User).findOneBy({ username });
    if (!user) {
      throw new AppError(CommonErrorCode.NotFound, `No user ${username}`);
    }
    return { id: user.id, username: user.username };
  }
}
