/** Kubernetes `Status` failures, with the `reason` and `code` a real API server uses. */
export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Gone';

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  UnsupportedMediaType: 415,
  Invalid: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
};

export class StatusError extends Error {
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: {
      name?: string;
      group?: string;
      kind?: string;
      uid?: string;
      causes?: StatusCause[];
    },
    private readonly omitReason = false,
  ) {
    super(message);
  }

  get code(): number {
    return CODES[this.reason];
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      // A reason Kubernetes leaves out (a bare 500 it did not classify) is left out here too.
      ...(this.omitReason ? {} : { reason: this.reason }),
      ...(this.details ? { details: withoutEmpty(this.details) } : {}),
      code: this.code,
    };
  }
}

/** StatusDetails' fields are `omitempty`: an empty name or group (the core group) is not sent. */
function withoutEmpty(details: NonNullable<StatusError['details']>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(details).filter(([, value]) => value !== '' && value !== undefined),
  );
}

/** `pods "web-0" not found`, as the API server words it. */
export function notFound(resource: string, name: string, group = ''): StatusError {
  return new StatusError('NotFound', `${group ? `${resource}.${group}` : resource} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });
}

export function alreadyExists(resource: string, name: string, group = ''): StatusError {
  return new StatusError(
    'AlreadyExists',
    `${group ? `${resource}.${group}` : resource} "${name}" already exists`,
    {
      name,
      group,
      kind: resource,
    },
  );
}

export function conflict(resource: string, name: string, group = ''): StatusError {
  return new StatusError(
    'Conflict',
    `Operation cannot be fulfilled on ${group ? `${resource}.${group}` : resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );
}

export function invalid(kind: string, name: string, causes: StatusCause[], group = ''): StatusError {
  // As apimachinery's ErrorList.ToAggregate words it: one error bare, several in brackets.
  const messages = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
  return new StatusError('Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${summary}`, {
    name,
    group,
    kind,
    causes,
  });
}
