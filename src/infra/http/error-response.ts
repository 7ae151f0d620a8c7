import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CommonErrorCode, type ErrorCode, type FieldProblem } from '../errors/app-error';

export class FieldProblemDto implements FieldProblem {
  @ApiProperty({ example: 'gpu_count' })
  field!: string;

  @ApiProperty({ example: ['gpu_count must not be greater than 8'] })
  problems!: string[];
}

/** The body of every error response, whatever raised it. */
export class ErrorResponse {
  @ApiProperty({
    description: 'Machine-readable error code',
    // The common codes; each OpenAPI document lists its application's whole registry
    // (src/app/openapi.ts, from src/app/error-registry.ts).
    enum: Object.values(CommonErrorCode),
    enumName: 'ErrorCode',
    example: 'validation_failed',
  })
  code!: ErrorCode;

  @ApiProperty({ description: 'Human-readable explanation', example: 'Request validation failed' })
  message!: string;

  @ApiProperty({ description: 'Correlates this response with the server logs', example: '3f2c…' })
  requestId!: string;

  @ApiPropertyOptional({ type: [FieldProblemDto], description: 'Offending fields, for validation errors' })
  fields?: FieldProblem[];

  @ApiPropertyOptional({ description: 'Further structured detail, for some codes' })
  details?: Record<string, unknown>;
}
