import { Module } from '@nestjs/common';
import { CliDownloadController } from './cli-download.controller';

@Module({ controllers: [CliDownloadController] })
export class CliDownloadModule {}
