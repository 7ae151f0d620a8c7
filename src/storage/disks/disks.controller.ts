import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AuditService } from '../../audit/public';
import {
  type AuthenticatedRequest,
  AdminOnly,
  Authenticated,
  CurrentPrincipal,
  type Principal,
} from '../../auth/public';
import { CommonErrorCode } from '../../infra/errors/app-error';
import { ApiErrors } from '../../infra/http/api-errors';
import { ApiDnsLabelParam, DnsLabelPipe } from '../../infra/kubernetes/names';
import { StorageErrorCode } from '../storage.errors';
import { DisksService } from './disks.service';
import {
  AdoptDiskDto,
  CreateDiskDto,
  DiskDto,
  DiskListDto,
  DiskOwnerQueryDto,
  ListDisksQueryDto,
  RenameDiskDto,
  RestoreDiskDto,
  SnapshotDto,
  SnapshotListDto,
} from './dto/disk.dto';

/** A disk named in the path that the caller has not (an admin's `?owner=` names whose). */
const NO_SUCH_DISK = { code: CommonErrorCode.NotFound, message: 'No disk work' };
const OWNER_ERRORS = [
  { code: CommonErrorCode.Forbidden, message: "Only admins can act on another user's disks" },
  { code: CommonErrorCode.NotFound, message: 'No user bob' },
];

/**
 * Named persistent disks: a reservation that names one (`disk`) gets it at /home/dev, and at its
 * end a snapshot. Disks are yours: another user's answer 404; admins reach them with `?owner=`.
 */
@ApiTags('disks')
@Controller('api/v1/disks')
@ApiErrors(StorageErrorCode.StorageUnavailable)
export class DisksController {
  constructor(
    private readonly disks: DisksService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listDisks',
    summary: 'List your disks',
    description:
      'Your disks by name: size, where the volume lives, which reservation holds it, the latest ' +
      'snapshot. `deleted=true` adds those in their grace period; admins see everyone’s with `user=all`.',
  })
  @Authenticated('disks:read')
  @ApiOkResponse({ type: DiskListDto })
  @ApiErrors({ code: CommonErrorCode.Forbidden, message: "Only admins can list every user's resources" })
  async listDisks(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListDisksQueryDto,
  ): Promise<DiskListDto> {
    return { items: await this.disks.list(principal, query) };
  }

  @Post()
  @ApiOperation({
    operationId: 'createDisk',
    summary: 'Create a disk',
    description:
      'A new, empty disk of that name and size. Its volume is made where a reservation first uses ' +
      'it: name it in POST /api/v1/reservations (`disk`).',
  })
  @Authenticated('disks:write')
  @ApiCreatedResponse({ type: DiskDto })
  @ApiErrors(StorageErrorCode.DiskNameTaken, StorageErrorCode.DiskQuotaExceeded)
  async createDisk(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AuthenticatedRequest,
    @Body() body: CreateDiskDto,
  ): Promise<DiskDto> {
    const disk = await this.disks.create(principal, body);
    await this.record(principal, request, 'disk.create', disk, { size_gb: disk.size_gb });
    return disk;
  }

  @Post('adopt')
  @ApiOperation({
    operationId: 'adoptDisk',
    summary: 'Adopt a volume as a disk',
    description:
      'Admins: an existing volume of the storage provider (aws-ebs: an EBS volume by id) becomes a ' +
      'user’s disk.',
  })
  @AdminOnly('disks:write')
  @ApiCreatedResponse({ type: DiskDto })
  @ApiErrors(
    { code: CommonErrorCode.NotFound, message: 'No user bob' },
    StorageErrorCode.DiskNameTaken,
    StorageErrorCode.DiskQuotaExceeded,
    { code: StorageErrorCode.InvalidDiskState, message: 'Volume vol-0a1b2c3d4e5f60718 is already a disk' },
    StorageErrorCode.VolumeInUse,
    StorageErrorCode.StorageRejected,
    {
      code: StorageErrorCode.StorageRejected,
      message: 'The k8s-csi storage provider does not adopt existing volumes',
    },
  )
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
  @ApiOperation({ operationId: 'getDisk', summary: 'Get a disk', description: 'One disk, as listed.' })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:read')
  @ApiOkResponse({ type: DiskDto })
  @ApiErrors(NO_SUCH_DISK, ...OWNER_ERRORS)
  getDisk(
    @CurrentPrincipal() principal: Principal,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<DiskDto> {
    return this.disks.get(principal, name, query.owner);
  }

  @Delete(':name')
  @ApiOperation({
    operationId: 'deleteDisk',
    summary: 'Delete a disk',
    description:
      'A soft delete: the name is free at once, the data kept for ODC_DISK_DELETE_GRACE_DAYS ' +
      '(`purge_after`), when POST /api/v1/disks/{name}/undelete brings it back. Not while a reservation holds it.',
  })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @ApiOkResponse({ type: DiskDto })
  @ApiErrors(NO_SUCH_DISK, ...OWNER_ERRORS, StorageErrorCode.DiskInUse)
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

  @Post(':name/undelete')
  @ApiOperation({
    operationId: 'undeleteDisk',
    summary: 'Undelete a disk',
    description:
      'A deleted disk back, during its grace period, under its name (if no new disk has taken it).',
  })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto })
  @ApiErrors(
    { code: CommonErrorCode.NotFound, message: 'No deleted disk work in its grace period' },
    ...OWNER_ERRORS,
    StorageErrorCode.DiskNameTaken,
    { code: StorageErrorCode.InvalidDiskState, message: "Disk work's grace period is over" },
    StorageErrorCode.DiskQuotaExceeded,
  )
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
  @ApiOperation({
    operationId: 'renameDisk',
    summary: 'Rename a disk',
    description: 'Its data, snapshots and holds stay; only the name changes.',
  })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto })
  @ApiErrors(NO_SUCH_DISK, ...OWNER_ERRORS, StorageErrorCode.DiskNameTaken)
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
  @ApiOperation({
    operationId: 'listDiskSnapshots',
    summary: 'List a disk’s snapshots',
    description: 'Newest first, with their status (pending, ready, failed): what POST …/restore can take.',
  })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:read')
  @ApiOkResponse({ type: SnapshotListDto })
  @ApiErrors(NO_SUCH_DISK, ...OWNER_ERRORS)
  async listSnapshots(
    @CurrentPrincipal() principal: Principal,
    @Param('name', DnsLabelPipe) name: string,
    @Query() query: DiskOwnerQueryDto,
  ): Promise<SnapshotListDto> {
    return { items: await this.disks.listSnapshots(principal, name, query.owner) };
  }

  @Post(':name/snapshots')
  @ApiOperation({
    operationId: 'createDiskSnapshot',
    summary: 'Snapshot a disk',
    description:
      'Taken in the background (202): poll GET …/snapshots until it is ready. A reservation’s end ' +
      'snapshots its disk anyway; this is a copy in between, of a disk in use too (crash-consistent).',
  })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: SnapshotDto })
  @ApiErrors(NO_SUCH_DISK, ...OWNER_ERRORS, StorageErrorCode.InvalidDiskState)
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

  @Post(':name/restore')
  @ApiOperation({
    operationId: 'restoreDisk',
    summary: 'Restore a disk from a snapshot',
    description:
      'Into a new disk (`new_name`), or the disk itself back to the snapshot (it must be free; its ' +
      'current volume is deleted). The volume is made from the snapshot at the disk’s next use.',
  })
  @ApiDnsLabelParam('name')
  @Authenticated('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto, description: 'The restored disk (the new one, with new_name)' })
  @ApiErrors(
    NO_SUCH_DISK,
    {
      code: CommonErrorCode.NotFound,
      message: 'Disk work has no snapshot 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    },
    ...OWNER_ERRORS,
    StorageErrorCode.SnapshotNotReady,
    StorageErrorCode.DiskInUse,
    StorageErrorCode.DiskNameTaken,
    StorageErrorCode.DiskQuotaExceeded,
  )
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

  @Post(':name/unlock')
  @ApiOperation({
    operationId: 'unlockDisk',
    summary: 'Unlock a disk',
    description: 'Admins: frees a disk whose reservation has ended but was never released.',
  })
  @ApiDnsLabelParam('name')
  @AdminOnly('disks:write')
  @HttpCode(200)
  @ApiOkResponse({ type: DiskDto })
  @ApiErrors(NO_SUCH_DISK, ...OWNER_ERRORS, {
    code: StorageErrorCode.DiskInUse,
    message:
      'Disk work is held by reservation 3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b, which is active: cancel it instead',
    details: { reservation_id: '3f0e9c4a-5b1d-4e6f-8a2b-7c9d0e1f2a3b' },
  })
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
