import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AppError, CommonErrorCode, type FieldProblem } from '../errors/app-error';
import { ABOUT_ABSENCE } from './about-absence';

/**
 * A field that is missing (or null) fails every rule it has ("must be a number", "must not be
 * less than 0.01", …), and none of those is what to fix: it gets the one problem that is. A field
 * with @IsOptional is never validated when absent, so rules broken by an absent one mean it is
 * required, unless one of them is about absence (ABOUT_ABSENCE) and says more.
 */
function problemsOf(field: string, error: ValidationError): string[] {
  const constraints = Object.entries(error.constraints ?? {});
  if (error.value !== undefined && error.value !== null) {
    return constraints.map(([, message]) => message);
  }
  const aboutAbsence = constraints
    .filter(([rule]) => (error.contexts?.[rule] as Partial<typeof ABOUT_ABSENCE> | undefined)?.aboutAbsence)
    .map(([, message]) => message);
  if (aboutAbsence.length > 0) {
    return aboutAbsence;
  }
  return [error.value === null ? `${field} is required (null is no value)` : `${field} is required`];
}

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, problems: problemsOf(field, error) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** "hours is required", "gpu_type and hours are required"; else the general words. */
function summary(fields: FieldProblem[]): string {
  const missing = fields.filter(({ field, problems }) => problems[0]?.startsWith(`${field} is required`));
  if (missing.length === 0 || missing.length < fields.length) {
    return 'Request validation failed';
  }
  const names = missing.map(({ field }) => field);
  return names.length === 1
    ? `${names[0]} is required`
    : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are required`;
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
    exceptionFactory: (errors) => {
      const fields = flatten(errors);
      return new AppError(CommonErrorCode.ValidationFailed, summary(fields), { fields });
    },
  });
}
