import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiQuery,
  ApiTags,
  getSchemaPath,
  type SchemaObject,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { SnapshotInfo, VolumeInfo } from './contract';
import { ErrorResponse } from '../infra/http/error-response';
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
const NOT_FOUND = ApiNotFoundResponse({ type: ErrorResponse, description: 'Not in that namespace' });
const CONFLICT = ApiConflictResponse({
  type: ErrorResponse,
  description: 'Conflicts with what the cluster holds',
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
  @ApiCreatedResponse({ type: VolumeInfoDto, description: 'Created; 200 when it existed already' })
  @ApiOkResponse({ type: VolumeInfoDto, description: 'It existed already' })
  @ApiNotFoundResponse({ type: ErrorResponse, description: 'No such snapshot to restore from' })
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
  @NAMESPACE_QUERY
  @ApiOkResponse({ type: [VolumeInfoDto] })
  listVolumes(@Query('namespace') namespace?: string): Promise<VolumeInfo[]> {
    return this.volumes.listVolumes(namespace);
  }

  @Get('volumes/:name')
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @NOT_FOUND
  @ApiOkResponse({ type: VolumeInfoDto })
  getVolume(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<VolumeInfo> {
    return this.volumes.getVolume(name, namespace);
  }

  @Patch('volumes/:name')
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @NOT_FOUND
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
  @HttpCode(204)
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @CONFLICT
  @ApiNoContentResponse({ description: 'Deleted, or did not exist; 409 while a pod mounts it' })
  deleteVolume(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<void> {
    return this.volumes.deleteVolume(name, namespace);
  }

  @Post('snapshots')
  @ApiCreatedResponse({ type: SnapshotInfoDto, description: 'Created; 200 when it existed already' })
  @ApiOkResponse({ type: SnapshotInfoDto, description: 'It existed already' })
  @ApiBody({ schema: SNAPSHOT_REQUEST_SCHEMA })
  @NOT_FOUND
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
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @NOT_FOUND
  @ApiOkResponse({ type: SnapshotInfoDto })
  getSnapshot(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<SnapshotInfo> {
    return this.volumes.getSnapshot(name, namespace);
  }

  @Patch('snapshots/:name')
  @ApiDnsLabelParam('name')
  @NAMESPACE_QUERY
  @NOT_FOUND
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
