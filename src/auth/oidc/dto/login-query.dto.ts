import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

/** A path of this site only: not `//host` or `/\host`, which browsers read as another site. */
const RETURN_TO = /^\/(?![/\\])[^\s]{0,2000}$/;
const CLI_STATE = /^[A-Za-z0-9_-]{16,128}$/;

export class BrowserLoginQuery {
  @ApiPropertyOptional({
    description: 'A path on this site to go to after logging in (default /docs)',
    example: '/docs',
    pattern: RETURN_TO.source,
  })
  @IsOptional()
  @Matches(RETURN_TO, { message: 'return_to must be a path on this site, like /docs' })
  return_to?: string;
}

export class CliLoginQuery {
  @ApiProperty({
    description: "The port of the CLI's listener on 127.0.0.1",
    example: 49152,
    type: 'integer',
    minimum: 1024,
    maximum: 65535,
  })
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(65535)
  port!: number;

  @ApiProperty({
    description: 'A random value the CLI checks on the callback (16–128 of [A-Za-z0-9_-])',
    pattern: CLI_STATE.source,
  })
  @Matches(CLI_STATE, { message: 'state must be 16 to 128 characters of [A-Za-z0-9_-]' })
  state!: string;
}
