import { ApiParam } from '@nestjs/swagger';

/** A path parameter ParseUUIDPipe checks: documented as a UUID, so the document says what else is a 400. */
export function ApiUuidParam(name = 'id'): MethodDecorator & ClassDecorator {
  return ApiParam({ name, type: 'string', format: 'uuid' });
}
