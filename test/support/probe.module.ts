import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min, ValidateNested } from 'class-validator';
import { AppError, CommonErrorCode } from '../../src/infra/errors/app-error';

class ProbeDisk {
  @IsString()
  name!: string;
}

class ProbeBody {
  @IsInt()
  @Min(1)
  @Max(8)
  gpu_count!: number;

  @ValidateNested()
  @Type(() => ProbeDisk)
  disk!: ProbeDisk;
}

/** Test-only routes that raise each kind of error the filter must shape. */
@Controller('probe')
class ProbeController {
  @Post('echo')
  echo(@Body() body: ProbeBody): ProbeBody {
    return body;
  }

  @Get('conflict')
  conflict(): never {
    throw new AppError(CommonErrorCode.Conflict, 'Disk "work" is in use', { disk: 'work' });
  }

  @Get('crash')
  crash(): never {
    throw new Error('database password is hunter2');
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
