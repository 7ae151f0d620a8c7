import { METHOD_METADATA } from '@nestjs/common/constants';
import { DECORATORS } from '@nestjs/swagger';
import type { ErrorCode, FieldProblem } from '../errors/app-error';

/**
 * The OpenAPI extension that carries an operation's error codes from `@ApiErrors` to the
 * document's build (src/app/openapi.ts), which replaces it with one response per HTTP status and a
 * named example per code. The statuses are the app's registry's (src/app/error-registry.ts), which
 * infra may not import: so the codes travel, and the app resolves them.
 */
export const API_ERRORS_EXTENSION = 'x-odc-errors';

/** A code an operation can answer with and, where this operation words it its own way, how. */
export interface DocumentedError {
  code: ErrorCode;
  /** Default: the registry's example message for the code (src/app/error-examples.ts). */
  message?: string;
  fields?: FieldProblem[];
  details?: Record<string, unknown>;
}

type RouteHandler = (...args: unknown[]) => unknown;

/**
 * The error codes an operation (or every operation of a controller) can answer with, documented
 * as `ErrorResponse` examples under their statuses. Repeated uses add up: a controller's, a
 * method's and the auth decorators' codes are all listed, the method's wording of a code first.
 */
export function ApiErrors(...errors: (ErrorCode | DocumentedError)[]): MethodDecorator & ClassDecorator {
  const documented = errors.map((error) => (typeof error === 'string' ? { code: error } : error));
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      addErrors(descriptor.value as RouteHandler, documented);
      return descriptor;
    }
    routeHandlersOf(target as { prototype: object }).forEach((handler) => addErrors(handler, documented));
    return target;
  }) as MethodDecorator & ClassDecorator;
}

/** The codes documented on a handler so far. */
function documentedErrorsOf(handler: RouteHandler): DocumentedError[] {
  const extensions = Reflect.getMetadata(DECORATORS.API_EXTENSION, handler) as
    Record<string, unknown> | undefined;
  return (extensions?.[API_ERRORS_EXTENSION] as DocumentedError[] | undefined) ?? [];
}

function addErrors(handler: RouteHandler, errors: DocumentedError[]): void {
  const extensions = (Reflect.getMetadata(DECORATORS.API_EXTENSION, handler) ?? {}) as Record<
    string,
    unknown
  >;
  Reflect.defineMetadata(
    DECORATORS.API_EXTENSION,
    { ...extensions, [API_ERRORS_EXTENSION]: [...documentedErrorsOf(handler), ...errors] },
    handler,
  );
}

/** A controller's route handlers (as @nestjs/swagger's own class-level decorators find them). */
function routeHandlersOf(controller: { prototype: object }): RouteHandler[] {
  return Object.getOwnPropertyNames(controller.prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as unknown)
    .filter(
      (value): value is RouteHandler =>
        typeof value === 'function' && Reflect.hasMetadata(METHOD_METADATA, value),
    );
}
