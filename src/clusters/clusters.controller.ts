import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Req,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProperty,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AuditService } from '../audit/public';
import { type AuthenticatedRequest, AdminOnly, CurrentPrincipal, type Principal } from '../auth/public';
import { AppError } from '../infra/errors/app-error';
import { ApiUuidParam } from '../infra/http/api-params';
import { ErrorResponse } from '../infra/http/error-response';
import { CapacitySync } from './capacity/capacity-sync';
import { ClustersService, type ClusterFlags } from './clusters.service';
import { ClusterCapacityDto, NodeCapacityDto } from './dto/availability.dto';
import { ClusterDto, CreateClusterDto, UpdateClusterDto } from './dto/cluster.dto';
import { ClusterRegistry } from './registry/cluster-registry';

class ReloadResultDto {
  @ApiProperty({ description: 'Clusters this replica now holds' })
  clusters!: number;
}

const FLAG_ACTIONS = {
  enable: { enabled: true },
  disable: { enabled: false },
  drain: { draining: true },
  undrain: { draining: false },
} satisfies Record<string, ClusterFlags>;

/**
 * The cluster registry, for admins (an admin user; an API key also needs `clusters:admin`). Every
 * call is audited, failures too. No answer carries a private key or token: `has_client_key`,
 * `has_token` say whether one is set.
 */
@ApiTags('clusters')
@Controller('api/v1/clusters')
@AdminOnly('clusters:admin')
@ApiNotFoundResponse({ type: ErrorResponse })
export class ClustersController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly registry: ClusterRegistry,
    private readonly capacity: CapacitySync,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOkResponse({ type: [ClusterDto] })
  list(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
  ): Promise<ClusterDto[]> {
    return this.audited(principal, request, 'cluster.list', undefined, async () => ({
      result: (await this.clusters.list()).map((cluster) => ClusterDto.from(cluster)),
    }));
  }

  /**
   * Registers a cluster: PEMs checked (422 `invalid_certificate` with the reason), the key and
   * token encrypted, the connection tested; `status` says how it went (healthy, unreachable,
   * auth_failed). An unreachable cluster is registered all the same, so it can be fixed in place.
   */
  @Post()
  @ApiCreatedResponse({ type: ClusterDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponse,
    description: 'invalid_certificate, invalid_connection',
  })
  @ApiConflictResponse({ type: ErrorResponse, description: 'cluster_name_taken' })
  create(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Body() body: CreateClusterDto,
  ): Promise<ClusterDto> {
    return this.audited(principal, request, 'cluster.create', undefined, async () => {
      const cluster = ClusterDto.from(await this.clusters.create(body));
      return { result: cluster, resourceId: cluster.id, metadata: describeChange(body, cluster) };
    });
  }

  /** Manual reload of this replica's registry (others reload on their own within milliseconds). */
  @Post('reload')
  @HttpCode(200)
  @ApiOkResponse({ type: ReloadResultDto })
  reload(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
  ): Promise<ReloadResultDto> {
    return this.audited(principal, request, 'cluster.reload', undefined, async () => ({
      result: { clusters: await this.registry.reload() },
    }));
  }

  @Get(':id')
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto })
  get(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.audited(principal, request, 'cluster.read', id, async () => ({
      result: ClusterDto.from(await this.clusters.get(id)),
    }));
  }

  /** Changes what is sent (e.g. the three PEMs to renew certificates); `null` removes a PEM or the token. */
  @Put(':id')
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponse,
    description: 'invalid_certificate, invalid_connection',
  })
  @ApiConflictResponse({ type: ErrorResponse, description: 'cluster_name_taken' })
  update(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateClusterDto,
  ): Promise<ClusterDto> {
    return this.audited(principal, request, 'cluster.update', id, async () => {
      const cluster = ClusterDto.from(await this.clusters.update(id, body));
      return { result: cluster, metadata: describeChange(body, cluster) };
    });
  }

  /** Only a draining or disabled cluster (409 `cluster_active` otherwise). Its capacity rows go with it. */
  @Delete(':id')
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto, description: 'The cluster as it was' })
  @ApiConflictResponse({ type: ErrorResponse, description: 'cluster_active' })
  remove(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.audited(principal, request, 'cluster.delete', id, async () => {
      const cluster = ClusterDto.from(await this.clusters.remove(id));
      return { result: cluster, metadata: { name: cluster.name } };
    });
  }

  @Post(':id/enable')
  @ApiUuidParam()
  @HttpCode(200)
  @ApiOkResponse({ type: ClusterDto })
  enable(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.flag(principal, request, id, 'enable');
  }

  @Post(':id/disable')
  @ApiUuidParam()
  @HttpCode(200)
  @ApiOkResponse({ type: ClusterDto })
  disable(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.flag(principal, request, id, 'disable');
  }

  /** No new reservations are placed here; those running stay until they end. */
  @Post(':id/drain')
  @ApiUuidParam()
  @HttpCode(200)
  @ApiOkResponse({ type: ClusterDto })
  drain(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.flag(principal, request, id, 'drain');
  }

  @Post(':id/undrain')
  @ApiUuidParam()
  @HttpCode(200)
  @ApiOkResponse({ type: ClusterDto })
  undrain(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.flag(principal, request, id, 'undrain');
  }

  /** The cluster's nodes as its deployer last reported them (capacity sync). */
  @Get(':id/capacity')
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterCapacityDto })
  capacityOf(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterCapacityDto> {
    return this.audited(principal, request, 'cluster.capacity.read', id, async () => {
      const cluster = await this.clusters.get(id);
      const rows = await this.capacity.rowsOf(id);
      return {
        result: {
          cluster_id: id,
          cluster: cluster.name,
          nodes: rows.map((row) => NodeCapacityDto.from(row)),
        },
      };
    });
  }

  private flag(
    principal: Principal,
    request: AuthenticatedRequest,
    id: string,
    action: keyof typeof FLAG_ACTIONS,
  ): Promise<ClusterDto> {
    return this.audited(principal, request, `cluster.${action}`, id, async () => ({
      result: ClusterDto.from(await this.clusters.setFlags(id, FLAG_ACTIONS[action])),
    }));
  }

  /**
   * Runs the call and records it, success or failure (with the error's code). `work` gives the
   * answer, and may name the resource (when its id is only known after) and metadata for the log.
   */
  private async audited<T>(
    principal: Principal,
    request: AuthenticatedRequest,
    action: string,
    resourceId: string | undefined,
    work: () => Promise<Audited<T>>,
  ): Promise<T> {
    const record = (
      outcome: 'success' | 'failure',
      id: string | undefined,
      metadata?: Record<string, unknown>,
    ) =>
      this.audit.recordCall(principal, request, {
        action,
        outcome,
        resourceType: 'cluster',
        resourceId: id ?? null,
        ...(metadata ? { metadata } : {}),
      });
    let done: Audited<T>;
    try {
      done = await work();
    } catch (error) {
      await record('failure', resourceId, {
        code: error instanceof AppError ? error.code : 'internal_error',
      });
      throw error;
    }
    await record('success', done.resourceId ?? resourceId, done.metadata);
    return done.result;
  }
}

interface Audited<T> {
  result: T;
  resourceId?: string;
  metadata?: Record<string, unknown>;
}

/** What a registration or update changed, for the audit log: field names only, never values of secrets. */
function describeChange(
  body: CreateClusterDto | UpdateClusterDto,
  cluster: ClusterDto,
): Record<string, unknown> {
  // The validated body holds every declared field, unsent ones as undefined: list those sent.
  const sent = Object.entries(body).filter(([, value]) => value !== undefined);
  return { name: cluster.name, fields: sent.map(([field]) => field).sort(), status: cluster.status };
}
