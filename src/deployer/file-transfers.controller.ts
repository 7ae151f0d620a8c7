import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import type { FileTransferInfo, TransferDirection } from './contract';
import { ErrorResponse } from '../infra/http/error-response';
import { DeployerApi } from './deployer-api.decorators';
import { ApiDnsLabelParam, DnsLabelPipe } from '../infra/kubernetes/names';
import { FileTransferInfoDto, FileTransferRequestDto } from './dto/file-transfer.dto';
import { FileTransfersService } from './file-transfers.service';

const DIRECTIONS: TransferDirection[] = ['upload', 'download'];

@ApiTags('file transfers')
@Controller('api/v1/deployments/:externalId/file-transfers')
@DeployerApi()
@ApiDnsLabelParam('externalId')
@ApiNotFoundResponse({ type: ErrorResponse, description: 'No such deployment (or transfer, or direction)' })
export class FileTransfersController {
  constructor(private readonly transfers: FileTransfersService) {}

  @Post(':direction')
  @ApiParam({ name: 'direction', enum: DIRECTIONS })
  @ApiCreatedResponse({ type: FileTransferInfoDto })
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
  @ApiDnsLabelParam('id')
  @ApiOkResponse({ type: FileTransferInfoDto })
  getFileTransfer(
    @Param('externalId', DnsLabelPipe) externalId: string,
    @Param('id', DnsLabelPipe) id: string,
  ): Promise<FileTransferInfo> {
    return this.transfers.getTransfer(externalId, id);
  }
}
