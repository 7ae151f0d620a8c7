import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { AppError, CommonErrorCode, type FieldProblem } from '../errors/app-error';

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Rejects unknown and malformed fields with a 400 naming each offending field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new AppError(CommonErrorCode.ValidationFailed, 'Request validation failed', {
        fields: flatten(errors),
      }),
  });
}
