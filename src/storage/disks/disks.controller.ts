import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AuditService } from '../../audit/public';
import {
  type AuthenticatedRequest,
  AdminOnly,
  Authenticated,
  CurrentPrincipal,
  type Principal,
} from '../../auth/public';
import { ApiDnsLabelParam, DnsLabelPipe } from '../../infra/kubernetes/names';
import { ErrorResponse } from '../../infra/http/error-response';
import { DisksService } from './disks.service';
import {
  AdoptDiskDto,
  CreateDiskDto,
  DiskDto,
  DiskOwnerQueryDto,
  ListDisksQueryDto,
  RenameDiskDto,
  RestoreDiskDto,
  SnapshotDto,
} from './dto/disk.dto';

/**
 * Named persistent disks: a reservation that names one (`disk`) gets it at /home/dev, and at its
 * end a snapshot. Disks are yours: another user's answer 404; admins reach them with `?owner=`.
 */
@ApiTags('disks')
@Controller('api/v1/disks')
@ApiNotFoundResponse({ type: ErrorResponse })
@ApiServiceUnavailableResponse({ type: ErrorResponse, description: 'storage_unavailable' })
export class DisksController {
  constructor(
    private readonly disks: DisksService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @Authenticated('disks:read')
  @ApiOkResponse({ type: [DiskDto] })
  listDisks(@CurrentPrincipal() principal: Principal, @Query() query: ListDisksQueryDto): Promise<DiskDto[]> {
    return this.disks.list(principal, query);
  }

  /** A new, empty disk; its volume is made where a reservation first uses it. */
  @Post()
  @Authenticated('disks:write')
  @ApiCreatedResponse({ type: DiskDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'disk_name_taken, disk_quota_exceeded' })
  async createDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Body() body: CreateDiskDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.create(principal, body);
    await this.record(principal, request, 'disk.create', disk, { size_gb: disk.size_gb });
    return disk;
  }

  /** Admins: an existing volume of the provider (aws-ebs: an EBS volume by id) becomes a user's disk. */
  @Post('adopt')
  @AdminOnly('disks:write')
  @ApiCreatedResponse({ type: DiskDto })
  @ApiConflictResponse({
    type: ErrorResponse,
    description: 'disk_name_taken, disk_quota_exceeded, invalid_disk_state (already a disk), volume_in_use',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponse,
    description: 'storage_rejected (not found, or a provider that cannot adopt)',
  })
  async adoptDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Body() body: AdoptDiskDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.adopt(principal, body);
    await this.record(principal, request, 'disk.adopt', disk, { volume_id: body.volume_id });
    return disk;
  }

  @Get(':name')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:read')
  @ApiOkResponse({ type: DiskDto })
  getDisk(
    @CurrentPrincipal() principal: Principal,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<DiskDto> {
    return this.disks.get(principal, name, query.owner);
  }

  /** Soft delete: the name is free at once, the data kept for ODC_DISK_DELETE_GRACE_DAYS. */
  @Delete(':name')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @ApiOkResponse({ type: DiskDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'disk_in_use' })
  async deleteDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.delete(principal, name, query.owner);
    await this.record(principal, request, 'disk.delete', disk, { purge_after: disk.purge_after });
    return disk;
  }

  /** A deleted disk back, during its grace period. */
  @Post(':name/undelete')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto })
  @ApiConflictResponse({
    type: ErrorResponse,
    description:
      'disk_name_taken (a new disk has the name), invalid_disk_state (grace over), disk_quota_exceeded',
  })
  async undeleteDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.undelete(principal, name, query.owner);
    await this.record(principal, request, 'disk.undelete', disk, {});
    return disk;
  }

  @Post(':name/rename')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'disk_name_taken' })
  async renameDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
    @Body() body: RenameDiskDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.rename(principal, name, body.new_name, query.owner);
    await this.record(principal, request, 'disk.rename', disk, { from: name, to: body.new_name });
    return disk;
  }

  @Get(':name/snapshots')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:read')
  @ApiOkResponse({ type: [SnapshotDto], description: 'Newest first' })
  listSnapshots(
    @CurrentPrincipal() principal: Principal,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<SnapshotDto[]> {
    return this.disks.listSnapshots(principal, name, query.owner);
  }

  /** Taken in the background (202): poll the list until it is ready. */
  @Post(':name/snapshots')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: SnapshotDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'invalid_disk_state' })
  async createSnapshot(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<SnapshotDto> {
    const snapshot = await this.disks.createSnapshot(principal, name, query.owner);
    await this.audit.recordCall(principal, request, {
      action: 'disk.snapshot',
      resourceType: 'snapshot',
      resourceId: snapshot.id,
      metadata: { disk: name },
    });
    return snapshot;
  }

  /** Into a new disk (`new_name`) or the disk itself; the volume is made at its next use. */
  @Post(':name/restore')
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto, description: 'The restored disk (the new one, with new_name)' })
  @ApiConflictResponse({
    type: ErrorResponse,
    description: 'snapshot_not_ready, disk_in_use, disk_name_taken, disk_quota_exceeded',
  })
  async restoreDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
    @Body() body: RestoreDiskDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.restore(principal, name, body, query.owner);
    await this.record(principal, request, 'disk.restore', disk, {
      from_disk: name,
      snapshot_id: body.snapshot_id,
    });
    return disk;
  }

  /** Admins: frees a disk whose reservation has ended but was never released. */
  @Post(':name/unlock')
  @ApiDnsLabelParam('name')
  @AdminOnly('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto })
  @ApiConflictResponse({ type: ErrorResponse, description: 'disk_in_use (its reservation is live)' })
  async unlockDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<DiskDto> {
    const before = await this.disks.get(principal, name, query.owner);
    const disk = await this.disks.unlock(principal, name, query.owner);
    await this.record(principal, request, 'disk.unlock', disk, {
      ...(before.in_use_by ? { released_from: before.in_use_by } : {}),
    });
    return disk;
  }

  private record(
    principal: Principal,
    request: AuthenticatedRequest,
    action: string,
    disk: DiskDto,
    metadata: Record<string, unknown>,
  ): Promise<unknown> {
    return this.audit.recordCall(principal, request, {
      action,
      resourceType: 'disk',
      resourceId: disk.id,
      metadata: { name: disk.name, owner: disk.owner, ...metadata },
    });
  }
}
