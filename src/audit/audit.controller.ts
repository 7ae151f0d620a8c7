import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { AuditService, type ChainVerification } from './audit.service';

class ChainVerificationDto implements ChainVerification {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ description: 'Rows that held, from the first' }) checked!: number;
  @ApiPropertyOptional({ description: 'The first row whose hashes do not match' }) first_broken_id?: string;
}

@ApiTags('audit')
@Controller('api/v1/audit')
@AdminOnly('audit:read')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('verify')
  @ApiOkResponse({ type: ChainVerificationDto })
  verifyAuditChain(): Promise<ChainVerification> {
    return this.audit.verifyChain();
  }
}
