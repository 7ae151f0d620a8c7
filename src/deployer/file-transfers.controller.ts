import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import type { FileTransferInfo, TransferDirection } from './contract';
import { ApiErrors } from '../infra/http/api-errors';
import { DeployerApi } from './deployer-api.decorators';
import { DeployerErrorCode } from './deployer.errors';
import { ApiDnsLabelParam, DnsLabelPipe } from '../infra/kubernetes/names';
import { FileTransferInfoDto, FileTransferRequestDto } from './dto/file-transfer.dto';
import { FileTransfersService } from './file-transfers.service';

const DIRECTIONS: TransferDirection[] = ['upload', 'download'];

@ApiTags('file transfers')
@Controller('api/v1/deployments/:externalId/file-transfers')
@DeployerApi()
@ApiDnsLabelParam('externalId')
@ApiErrors({ code: CommonErrorCode.NotFound, message: 'No pod of deployment dev-7f3a' })
export class FileTransfersController {
  constructor(private readonly transfers: FileTransfersService) {}

  @Post(':direction')
  @ApiOperation({
    operationId: 'startFileTransfer',
    summary: 'Start a file transfer',
    description:
      'Starts copying files into (upload) or out of (download) a volume the deployment mounts; poll ' +
      'GET …/file-transfers/{id} until it has succeeded (or failed).',
  })
  @ApiParam({ name: 'direction', enum: DIRECTIONS })
  @ApiCreatedResponse({ type: FileTransferInfoDto })
  @ApiErrors(
    { code: CommonErrorCode.NotFound, message: 'No such transfer direction: sideways (upload or download)' },
    {
      code: CommonErrorCode.NotFound,
      message: 'Volume disk-scratch is not a volume of deployment dev-7f3a (in namespace gpu-dev)',
    },
    DeployerErrorCode.NoVolume,
  )
  startFileTransfer(
    @Param('externalId', DnsLabelPipe) externalId: string,
    @Param('direction') direction: string,
    @Body() body: FileTransferRequestDto,
  ): Promise<FileTransferInfo> {
    if (!(DIRECTIONS as string[]).includes(direction)) {
      throw new AppError(
        CommonErrorCode.NotFound,
        `No such transfer direction: ${direction} (upload or download)`,
      );
    }
    return this.transfers.startTransfer(externalId, direction as TransferDirection, body);
  }

  @Get(':id')
  @ApiOperation({
    operationId: 'getFileTransfer',
    summary: 'Get a file transfer',
    description: 'How a transfer stands: pending, running, succeeded or failed.',
  })
  @ApiDnsLabelParam('id')
  @ApiOkResponse({ type: FileTransferInfoDto })
  @ApiErrors({
    code: CommonErrorCode.NotFound,
    message: 'File transfer ft-1a2b of deployment dev-7f3a not found',
  })
  getFileTransfer(
    @Param('externalId', DnsLabelPipe) externalId: string,
    @Param('id', DnsLabelPipe) id: string,
  ): Promise<FileTransferInfo> {
    return this.transfers.getTransfer(externalId, id);
  }
}
