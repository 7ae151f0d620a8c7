import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AppError, CommonErrorCode, type FieldProblem } from '../errors/app-error';

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** What a DTO class is not: types Nest reads from `@Body() body: unknown` and friends. */
const NOT_DTOS = new Set<unknown>([Object, String, Number, Boolean, Array]);

/**
 * Rejects unknown and malformed fields with a 400 naming each offending field; a request with no
 * body where the route takes one (Nest would validate an empty object in its place and hand the
 * handler nothing, so a route whose fields are all optional took the silence for a request; no
 * body is also what a JSON body without its Content-Type becomes); and a query parameter read by
 * name (`@Query('namespace')`) that was given more than once, which Express turns into an array
 * where every such handler and pipe expects one string (lists are comma lists). Global pipes run
 * before a parameter's own pipes, so those never see the array.
 */
class AppValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      metadata.type === 'body' &&
      !metadata.data &&
      value === undefined &&
      typeof metadata.metatype === 'function' &&
      !NOT_DTOS.has(metadata.metatype)
    ) {
      throw new AppError(CommonErrorCode.ValidationFailed, 'This request needs a JSON body', {
        fields: [{ field: 'body', problems: ['a JSON body (Content-Type: application/json) is required'] }],
      });
    }
    if (metadata.type === 'query' && metadata.data && Array.isArray(value)) {
      const field = metadata.data;
      throw new AppError(CommonErrorCode.ValidationFailed, 'Request validation failed', {
        fields: [{ field, problems: [`${field} must be given once (a list is one comma-separated value)`] }],
      });
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new AppError(CommonErrorCode.ValidationFailed, 'Request validation failed', {
        fields: flatten(errors),
      }),
  });
}
