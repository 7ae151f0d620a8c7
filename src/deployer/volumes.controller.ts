import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { SnapshotInfo, VolumeInfo } from './contract';
import { DeployerAuthGuard } from './deployer-auth.guard';
import { DnsLabelPipe } from './dto/validators';
import {
  LabelsPatchDto,
  SnapshotInfoDto,
  SnapshotRequestDto,
  VolumeInfoDto,
  VolumeRequestDto,
} from './dto/volume.dto';
import { VolumesService } from './volumes.service';

/** Persistent disks: claims and snapshots that outlive deployments. `namespace` defaults to the deployer's first. */
@ApiTags('volumes')
@ApiBearerAuth()
@Controller('api/v1')
@UseGuards(DeployerAuthGuard)
export class VolumesController {
  constructor(private readonly volumes: VolumesService) {}

  @Post('volumes')
  @ApiCreatedResponse({ type: VolumeInfoDto, description: 'Created; 200 when it existed already' })
  async createVolume(
    @Body() body: VolumeRequestDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<VolumeInfo> {
    const { created, volume } = await this.volumes.createVolume(body);
    res.status(created ? 201 : 200);
    return volume;
  }

  @Get('volumes')
  @ApiOkResponse({ type: [VolumeInfoDto] })
  listVolumes(@Query('namespace') namespace?: string): Promise<VolumeInfo[]> {
    return this.volumes.listVolumes(namespace);
  }

  @Get('volumes/:name')
  @ApiOkResponse({ type: VolumeInfoDto })
  getVolume(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<VolumeInfo> {
    return this.volumes.getVolume(name, namespace);
  }

  @Patch('volumes/:name')
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
  @ApiNoContentResponse({ description: 'Deleted, or did not exist; 409 while a pod mounts it' })
  deleteVolume(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<void> {
    return this.volumes.deleteVolume(name, namespace);
  }

  @Post('snapshots')
  @ApiCreatedResponse({ type: SnapshotInfoDto, description: 'Created; 200 when it existed already' })
  async createSnapshot(
    @Body() body: SnapshotRequestDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SnapshotInfo> {
    const { created, snapshot } = await this.volumes.createSnapshot(body);
    res.status(created ? 201 : 200);
    return snapshot;
  }

  @Get('snapshots')
  @ApiOkResponse({ type: [SnapshotInfoDto] })
  listSnapshots(
    @Query('namespace') namespace?: string,
    @Query('volume') volume?: string,
  ): Promise<SnapshotInfo[]> {
    return this.volumes.listSnapshots(namespace, volume);
  }

  @Get('snapshots/:name')
  @ApiOkResponse({ type: SnapshotInfoDto })
  getSnapshot(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<SnapshotInfo> {
    return this.volumes.getSnapshot(name, namespace);
  }

  @Patch('snapshots/:name')
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
  @ApiNoContentResponse({ description: 'Deleted, or did not exist; an import with its content' })
  deleteSnapshot(
    @Param('name', DnsLabelPipe) name: string,
    @Query('namespace') namespace?: string,
  ): Promise<void> {
    return this.volumes.deleteSnapshot(name, namespace);
  }
}
