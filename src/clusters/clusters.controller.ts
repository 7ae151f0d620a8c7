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
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { AuditService } from '../audit/public';
import { type AuthenticatedRequest, AdminOnly, CurrentPrincipal, type Principal } from '../auth/public';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { ApiUuidParam } from '../infra/http/api-params';
import { ApiErrors } from '../infra/http/api-errors';
import { CapacitySync } from './capacity/capacity-sync';
import { ClusterErrorCode } from './cluster.errors';
import { ClustersService, type ClusterFlags } from './clusters.service';
import { ClusterCapacityDto, NodeCapacityDto } from './dto/availability.dto';
import { ClusterDto, ClusterListDto, CreateClusterDto, UpdateClusterDto } from './dto/cluster.dto';
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

/** Swagger UI's starting body: the least a registration takes (no TLS material of its own). */
const CREATE_CLUSTER_EXAMPLES = {
  minimal: {
    summary: 'A deployer behind a public certificate, with its token',
    value: {
      name: 'gpu-east',
      deployer_url: 'https://deployer.gpu-east.example.com:8443',
      token: 'the-token-the-deployer-of-gpu-east-holds',
      profile: {
        namespace: 'gpu-dev',
        ssh_host: 'gpu-east.example.com',
        gpu_types: [
          {
            name: 'h100',
            node_selector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
            gpus_per_node: 8,
          },
        ],
      },
    },
  },
};

const NO_SUCH_CLUSTER = {
  code: CommonErrorCode.NotFound,
  message: 'No cluster 0b6c1f7e-2d3a-4e58-9f10-6a7b8c9d0e1f',
};

/**
 * The cluster registry, for admins (an admin user; an API key also needs `clusters:admin`). Every
 * call is audited, failures too. No answer carries a private key or token: `has_client_key`,
 * `has_token` say whether one is set.
 */
@ApiTags('clusters')
@Controller('api/v1/clusters')
@AdminOnly('clusters:admin')
export class ClustersController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly registry: ClusterRegistry,
    private readonly capacity: CapacitySync,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listClusters',
    summary: 'List the clusters',
    description:
      'Every registered cluster: its deployer’s address, its profile (namespace, GPU types), whether ' +
      'it is enabled or draining, and how its deployer last answered.',
  })
  @ApiOkResponse({ type: ClusterListDto })
  list(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
  ): Promise<ClusterListDto> {
    return this.audited(principal, request, 'cluster.list', undefined, async () => ({
      result: { items: (await this.clusters.list()).map((cluster) => ClusterDto.from(cluster)) },
    }));
  }

  @Post()
  @ApiOperation({
    operationId: 'createCluster',
    summary: 'Register a cluster',
    description:
      'Registers a cluster by its deployer: PEMs checked (422 `invalid_certificate` with the reason), ' +
      'the key and token encrypted, the connection tested; `status` says how it went (healthy, ' +
      'unreachable, auth_failed). An unreachable cluster is registered all the same, so it can be fixed in place.',
  })
  @ApiBody({ type: CreateClusterDto, examples: CREATE_CLUSTER_EXAMPLES })
  @ApiCreatedResponse({ type: ClusterDto })
  @ApiErrors(
    ClusterErrorCode.InvalidCertificate,
    ClusterErrorCode.InvalidConnection,
    ClusterErrorCode.ClusterNameTaken,
  )
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

  @Post('reload')
  @ApiOperation({
    operationId: 'reloadClusters',
    summary: 'Reload the registry',
    description:
      'Rereads the registry into the replica that answers; the others reload on their own within ' +
      'milliseconds of any change, so this is seldom needed.',
  })
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
  @ApiOperation({
    operationId: 'getCluster',
    summary: 'Get a cluster',
    description: 'One cluster, as listed.',
  })
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto })
  @ApiErrors(NO_SUCH_CLUSTER)
  get(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.audited(principal, request, 'cluster.read', id, async () => ({
      result: ClusterDto.from(await this.clusters.get(id)),
    }));
  }

  @Put(':id')
  @ApiOperation({
    operationId: 'updateCluster',
    summary: 'Change a cluster',
    description:
      'Changes the fields sent (e.g. the three PEMs to renew certificates); `null` removes a PEM or the ' +
      'token. Checked as a registration is, and the connection tested again.',
  })
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto })
  @ApiErrors(
    NO_SUCH_CLUSTER,
    ClusterErrorCode.InvalidCertificate,
    ClusterErrorCode.InvalidConnection,
    ClusterErrorCode.ClusterNameTaken,
  )
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

  @Delete(':id')
  @ApiOperation({
    operationId: 'deleteCluster',
    summary: 'Remove a cluster',
    description:
      'Only a draining or disabled cluster with no live reservation and no disk’s volume on it (409 ' +
      '`cluster_active` otherwise). Its capacity rows go with it.',
  })
  @ApiUuidParam()
  @ApiOkResponse({ type: ClusterDto, description: 'The cluster as it was' })
  @ApiErrors(NO_SUCH_CLUSTER, ClusterErrorCode.ClusterActive, {
    code: ClusterErrorCode.ClusterActive,
    message: 'Cluster gpu-east still runs 2 reservations: remove it once they have ended',
    details: { live_reservations: 2 },
  })
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
  @ApiOperation({
    operationId: 'enableCluster',
    summary: 'Enable a cluster',
    description: 'New reservations may be placed on it again.',
  })
  @ApiUuidParam()
  @ApiErrors(NO_SUCH_CLUSTER)
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
  @ApiOperation({
    operationId: 'disableCluster',
    summary: 'Disable a cluster',
    description: 'Nothing new is placed on it (availability counts it as not accepting).',
  })
  @ApiUuidParam()
  @ApiErrors(NO_SUCH_CLUSTER)
  @HttpCode(200)
  @ApiOkResponse({ type: ClusterDto })
  disable(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.flag(principal, request, id, 'disable');
  }

  @Post(':id/drain')
  @ApiOperation({
    operationId: 'drainCluster',
    summary: 'Drain a cluster',
    description:
      'No new reservations are placed here; those running stay until they end. Before maintenance or removal.',
  })
  @ApiUuidParam()
  @ApiErrors(NO_SUCH_CLUSTER)
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
  @ApiOperation({
    operationId: 'undrainCluster',
    summary: 'Undrain a cluster',
    description: 'Takes new reservations again.',
  })
  @ApiUuidParam()
  @ApiErrors(NO_SUCH_CLUSTER)
  @HttpCode(200)
  @ApiOkResponse({ type: ClusterDto })
  undrain(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<ClusterDto> {
    return this.flag(principal, request, id, 'undrain');
  }

  @Get(':id/capacity')
  @ApiOperation({
    operationId: 'getClusterCapacity',
    summary: 'See a cluster’s nodes',
    description:
      'Its nodes as its deployer last reported them (the capacity sync): GPU type, allocatable and ' +
      'used GPUs, ready and schedulable.',
  })
  @ApiUuidParam()
  @ApiErrors(NO_SUCH_CLUSTER)
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
