import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  getSchemaPath,
  type SchemaObject,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { SnapshotInfo, VolumeInfo } from './contract';
import { CommonErrorCode } from '../infra/errors/app-error';
import { ApiErrors } from '../infra/http/api-errors';
import { DeployerApi } from './deployer-api.decorators';
import { ApiDnsLabelParam, DNS_LABEL_SCHEMA, DnsLabelPipe } from '../infra/kubernetes/names';
import {
  LabelsPatchDto,
  SnapshotInfoDto,
  SnapshotRequestDto,
  VolumeInfoDto,
  VolumeRequestDto,
} from './dto/volume.dto';
import { VolumesService } from './volumes.service';

/** `?namespace=`: optional, a namespace of the deployer's policy (else 422). */
const NAMESPACE_QUERY = ApiQuery({
  name: 'namespace',
  required: false,
  ...DNS_LABEL_SCHEMA,
  description: "Default: the deployer's first namespace",
});
const VOLUME_NOT_FOUND = ApiErrors({
  code: CommonErrorCode.NotFound,
  message: 'Volume disk-work not found in namespace gpu-dev',
});
const SNAPSHOT_NOT_FOUND = ApiErrors({
  code: CommonErrorCode.NotFound,
  message: 'Snapshot snap-work-1 not found in namespace gpu-dev',
});
/** What the cluster holds stops it: an object of that name that is not the deployer's, a mount. */
const CONFLICT = ApiErrors({
  code: CommonErrorCode.Conflict,
  message: 'PersistentVolumeClaim gpu-dev/disk-work exists and is not a disk the deployer manages',
});

/** A snapshot request takes exactly one of `volume` (a claim to snapshot) and `source` (an import). */
const SNAPSHOT_REQUEST_SCHEMA: SchemaObject = {
  allOf: [{ $ref: getSchemaPath(SnapshotRequestDto) }],
  // Each branch also says the other is absent (or a null volume), so no body matches both.
  oneOf: [
    { required: ['volume'], properties: { volume: { type: 'string' }, source: { not: { type: 'object' } } } },
    { required: ['source'], properties: { source: { type: 'object' }, volume: { not: { type: 'string' } } } },
  ],
};

/** Persistent disks: claims and snapshots that outlive deployments. `namespace` defaults to the deployer's first. */
@ApiTags('volumes')
@ApiExtraModels(SnapshotRequestDto)
@Controller('api/v1')
@DeployerApi()
export class VolumesController {
  constructor(private readonly volumes: VolumesService) {}

  @Post('volumes')
  @ApiOperation({
    operationId: 'createVolume',
    summary: 'Create a volume',
    description:
      'A persistent volume claim for a disk, empty or from a snapshot (`from_snapshot`). Idempotent: ' +
      '201 when created, 200 when it existed.',
  })
  @ApiCreatedResponse({ type: VolumeInfoDto, description: 'Created; 200 when it existed already' })
  @ApiOkResponse({ type: VolumeInfoDto, description: 'It existed already' })
  @ApiErrors({
    code: CommonErrorCode.NotFound,
    message: 'Snapshot snap-work-1 not found in namespace gpu-dev',
  })
  @CONFLICT
  async createVolume(
    @Body() body: VolumeRequestDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<VolumeInfo> {
    const { created, volume } = await this.volumes.createVolume(body);
    res.status(created ? 201 : 200);
    return volume;
  }

  @Get('volumes')
  @ApiOperation({
    operationId: 'listVolumes',
    summary: 'List volumes',
    description: 'The disks’ claims in a namespace, with their size, phase and the pods that mount them.',
  })
  @NAMESPACE_QUERY
  @ApiOkResponse({ type: [VolumeInfoDto] })
  listVolumes(@Query('namespace') namespace?: string): Promise<VolumeInfo[]> {
    return this.volumes.listVolumes(namespace);
  }

  @Get('volumes/:name')
  @ApiOperation({ operationId: 'getVolume', summary: 'Get a volume', description: 'One volume, as listed.' })
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @VOLUME_NOT_FOUND
  @ApiOkResponse({ type: VolumeInfoDto })
  getVolume(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<VolumeInfo> {
    return this.volumes.getVolume(name, namespace);
  }

  @Patch('volumes/:name')
  @ApiOperation({
    operationId: 'updateVolumeLabels',
    summary: 'Label a volume',
    description: 'Merges labels into the claim’s; the deployer’s own labels cannot be changed (422).',
  })
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @VOLUME_NOT_FOUND
  @CONFLICT
  @ApiOkResponse({
    type: VolumeInfoDto,
    description: 'Labels merged; 422 for a change of the deployer’s own labels',
  })
  updateVolumeLabels(
    @Param('name', DnsLabelPipe) name: string,
    @Body() body: LabelsPatchDto,
    @Query('namespace') namespace?: string,
  ): Promise<VolumeInfo> {
    return this.volumes.updateVolumeLabels(name, body.labels, namespace);
  }

  @Delete('volumes/:name')
  @ApiOperation({
    operationId: 'deleteVolume',
    summary: 'Delete a volume',
    description: 'Deletes the claim (and its data). Idempotent; 409 while a pod mounts it.',
  })
  @HttpCode(204)
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @ApiErrors({
    code: CommonErrorCode.Conflict,
    message: 'Volume disk-work is mounted by dev-7f3a-0; delete those first',
    details: { used_by: ['dev-7f3a-0'] },
  })
  @ApiNoContentResponse({ description: 'Deleted, or did not exist; 409 while a pod mounts it' })
  deleteVolume(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<void> {
    return this.volumes.deleteVolume(name, namespace);
  }

  @Post('snapshots')
  @ApiOperation({
    operationId: 'createSnapshot',
    summary: 'Create a snapshot',
    description:
      'A VolumeSnapshot of a claim (`volume`), or the import of a provider’s snapshot (`source`). ' +
      'Idempotent: 201 when created, 200 when it existed.',
  })
  @ApiCreatedResponse({ type: SnapshotInfoDto, description: 'Created; 200 when it existed already' })
  @ApiOkResponse({ type: SnapshotInfoDto, description: 'It existed already' })
  @ApiBody({ schema: SNAPSHOT_REQUEST_SCHEMA })
  @VOLUME_NOT_FOUND
  @CONFLICT
  async createSnapshot(
    @Body() body: SnapshotRequestDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SnapshotInfo> {
    const { created, snapshot } = await this.volumes.createSnapshot(body);
    res.status(created ? 201 : 200);
    return snapshot;
  }

  @Get('snapshots')
  @ApiOperation({
    operationId: 'listSnapshots',
    summary: 'List snapshots',
    description: 'The snapshots in a namespace (or of one claim), with whether each is ready to use.',
  })
  @NAMESPACE_QUERY
  @ApiQuery({ name: 'volume', required: false, type: 'string', description: 'Only snapshots of this claim' })
  @ApiOkResponse({ type: [SnapshotInfoDto] })
  listSnapshots(
    @Query('namespace') namespace?: string,
    @Query('volume') volume?: string,
  ): Promise<SnapshotInfo[]> {
    return this.volumes.listSnapshots(namespace, volume);
  }

  @Get('snapshots/:name')
  @ApiOperation({
    operationId: 'getSnapshot',
    summary: 'Get a snapshot',
    description: 'One snapshot, as listed.',
  })
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @SNAPSHOT_NOT_FOUND
  @ApiOkResponse({ type: SnapshotInfoDto })
  getSnapshot(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<SnapshotInfo> {
    return this.volumes.getSnapshot(name, namespace);
  }

  @Patch('snapshots/:name')
  @ApiOperation({
    operationId: 'updateSnapshotLabels',
    summary: 'Label a snapshot',
    description: 'Merges labels into the snapshot’s; the deployer’s own labels cannot be changed (422).',
  })
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @SNAPSHOT_NOT_FOUND
  @CONFLICT
  @ApiOkResponse({
    type: SnapshotInfoDto,
    description: 'Labels merged; 422 for a change of the deployer’s own labels',
  })
  updateSnapshotLabels(
    @Param('name', DnsLabelPipe) name: string,
    @Body() body: LabelsPatchDto,
    @Query('namespace') namespace?: string,
  ): Promise<SnapshotInfo> {
    return this.volumes.updateSnapshotLabels(name, body.labels, namespace);
  }

  @Delete('snapshots/:name')
  @ApiOperation({
    operationId: 'deleteSnapshot',
    summary: 'Delete a snapshot',
    description: 'Deletes the snapshot (an import with its content). Idempotent.',
  })
  @HttpCode(204)
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @CONFLICT
  @ApiNoContentResponse({ description: 'Deleted, or did not exist; an import with its content' })
  deleteSnapshot(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<void> {
    return this.volumes.deleteSnapshot(name, namespace);
  }
}
