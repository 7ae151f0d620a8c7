/**
 * What a failed call to a cluster's deployer means for the coordinator. The mapping, in one place:
 *
 * - it could not be reached (network, timeout, open circuit, a gateway answering 502/503/504 for it)
 *   → DeployerUnreachable;
 * - it refused who we are (401/403, or TLS: our client certificate, or its server certificate
 *   against the pinned CA) → DeployerAuthFailed;
 * - 422, the spec breaks its policy (or Kubernetes refused an object) → DeployerPolicyRejected;
 * - 409, the cluster's state stops the spec (its objects exist and belong to something else)
 *   → DeployerFull;
 * - another 4xx → DeployerRequestRejected; 5xx or 429 → DeployerServerError.
 *
 * Codes: the deployer's answers to the request (4xx) keep the deployer's code, so the coordinator's
 * caller sees what the deployer said (e.g. `POLICY_VIOLATION` with its violations). Failures that are
 * the cluster's or the operator's problem, not the caller's (unreachable, our credentials refused,
 * the deployer failing), become `not_ready` (503, `details.reason` says which) — never 401/403, which
 * would tell the caller that *they* are not authenticated — except the deployer's own 502 codes
 * (`kube_unavailable`, `kube_forbidden`), which say exactly what broke. Messages and details never
 * carry the endpoint's key or token.
 */
import { type PolicyViolation, DEPLOYER_ERROR_STATUSES, DeployerErrorCode } from '../../deployer/public';
import {
  AppError,
  COMMON_ERROR_STATUSES,
  CommonErrorCode,
  type ErrorCode,
} from '../../infra/errors/app-error';

/** Which deployer failed (for messages and details). */
export interface DeployerRef {
  clusterId: string;
  name: string;
}

/** An error answer of the deployer, its body (src/infra/http/error-response.ts) as far as it reads. */
export interface DeployerAnswer {
  status: number;
  code?: string;
  message?: string;
  details?: Record<string, unknown>;
  requestId?: string;
  /** Seconds or an HTTP date, on 429 and 503. */
  retryAfter?: string;
}

/** The codes a deployer answers with (its listener's registry) and their statuses. */
const KNOWN_CODES: Readonly<Record<string, number>> = {
  ...COMMON_ERROR_STATUSES,
  ...DEPLOYER_ERROR_STATUSES,
};

/** The deployer's code when it is one of `known` and stands for the answer's status; else `fallback`. */
function deployerCodeOr(
  answer: DeployerAnswer,
  fallback: ErrorCode,
  known: Readonly<Record<string, number>> = KNOWN_CODES,
): ErrorCode {
  const code = answer.code;
  return code !== undefined && Object.hasOwn(known, code) && known[code] === answer.status
    ? (code as ErrorCode)
    : fallback;
}

/** What the deployer said, for details: its code, message and request id (to find its log line). */
function answerDetails(answer: DeployerAnswer): Record<string, unknown> {
  return {
    deployer_status: answer.status,
    ...(answer.code ? { deployer_code: answer.code } : {}),
    ...(answer.message ? { deployer_message: answer.message } : {}),
    ...(answer.requestId ? { deployer_request_id: answer.requestId } : {}),
  };
}

function said(answer: DeployerAnswer): string {
  return answer.message ? `${answer.status} ${answer.message}` : `${answer.status}`;
}

/** Every failure of a call to a deployer. */
export abstract class DeployerError extends AppError {
  readonly clusterId: string;

  protected constructor(
    code: ErrorCode,
    deployer: DeployerRef,
    message: string,
    details: Record<string, unknown>,
  ) {
    super(code, `Deployer of cluster ${deployer.name}: ${message}`, {
      cluster_id: deployer.clusterId,
      ...details,
    });
    this.clusterId = deployer.clusterId;
  }
}

/** Not reached: the network, a timeout, an open circuit, or a gateway that could not reach it. */
export class DeployerUnreachable extends DeployerError {
  constructor(
    deployer: DeployerRef,
    why: string,
    readonly reason: 'unreachable' | 'timeout' | 'circuit_open' = 'unreachable',
    extra: Record<string, unknown> = {},
  ) {
    super(CommonErrorCode.NotReady, deployer, `unreachable (${why})`, { reason, ...extra });
    this.name = 'DeployerUnreachable';
  }
}

/** The deployer (or its TLS listener) refused the coordinator's credentials, or failed to prove its own. */
export class DeployerAuthFailed extends DeployerError {
  readonly reason = 'auth_failed';

  constructor(deployer: DeployerRef, why: string, extra: Record<string, unknown> = {}) {
    super(CommonErrorCode.NotReady, deployer, `authentication failed (${why})`, {
      reason: 'auth_failed',
      ...extra,
    });
    this.name = 'DeployerAuthFailed';
  }
}

/** 422: the spec breaks the deployer's policy (`violations`), or Kubernetes refused an object (`causes`). */
export class DeployerPolicyRejected extends DeployerError {
  readonly violations: PolicyViolation[];

  constructor(deployer: DeployerRef, answer: DeployerAnswer) {
    super(
      deployerCodeOr(answer, DeployerErrorCode.PolicyViolation),
      deployer,
      `rejected the spec (${said(answer)})`,
      {
        ...answer.details,
        ...answerDetails(answer),
      },
    );
    this.name = 'DeployerPolicyRejected';
    this.violations = Array.isArray(answer.details?.violations)
      ? (answer.details.violations as PolicyViolation[])
      : [];
  }
}

/**
 * 409: the cluster cannot take this spec as it stands. The deployer does no admission of its own
 * (placement against capacity is the coordinator's); its one "not here" answer is the conflict: an
 * object of the spec exists and belongs to another deployment, a persistent disk or nobody it
 * manages (`details.conflicts`), or the cluster's ResourceQuota refused one. Retrying the same
 * cluster changes nothing now; another one may do.
 */
export class DeployerFull extends DeployerError {
  constructor(deployer: DeployerRef, answer: DeployerAnswer) {
    super(CommonErrorCode.Conflict, deployer, `cannot take the spec (${said(answer)})`, {
      ...answer.details,
      ...answerDetails(answer),
    });
    this.name = 'DeployerFull';
  }
}

/** Another 4xx: the request as the coordinator built it was refused (a bug, or versions that differ). */
export class DeployerRequestRejected extends DeployerError {
  constructor(deployer: DeployerRef, answer: DeployerAnswer) {
    super(
      deployerCodeOr(answer, CommonErrorCode.BadRequest),
      deployer,
      `refused the request (${said(answer)})`,
      {
        ...answer.details,
        ...answerDetails(answer),
      },
    );
    this.name = 'DeployerRequestRejected';
  }
}

/** 5xx from the deployer itself (its Kubernetes unreachable, a bug), or 429 after the retries. */
export class DeployerServerError extends DeployerError {
  readonly status: number;

  constructor(deployer: DeployerRef, answer: DeployerAnswer) {
    const reason = answer.status === 429 ? 'rate_limited' : 'server_error';
    super(
      deployerCodeOr(answer, CommonErrorCode.NotReady, DEPLOYER_ERROR_STATUSES),
      deployer,
      `failed (${said(answer)})`,
      { reason, ...answerDetails(answer) },
    );
    this.name = 'DeployerServerError';
    this.status = answer.status;
  }
}

/** The error body as the deployer sends it; anything else (a proxy's HTML page) keeps just the status. */
export function parseAnswer(status: number, text: string, retryAfter?: string): DeployerAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const stringOf = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const details = typeof fields.details === 'object' && fields.details !== null ? fields.details : undefined;
  return {
    status,
    code: stringOf(fields.code),
    message: stringOf(fields.message),
    details: {
      ...(details as Record<string, unknown> | undefined),
      ...(Array.isArray(fields.fields) ? { fields: fields.fields as unknown } : {}),
    },
    requestId: stringOf(fields.requestId),
    retryAfter,
  };
}

/**
 * A 5xx without the deployer's own error body came from something in front of it (a load balancer,
 * API Gateway) that could not reach it.
 */
function fromGateway(answer: DeployerAnswer): boolean {
  return [502, 503, 504].includes(answer.status) && answer.code === undefined;
}

/** The typed error for an answer that is not a success (4xx, 5xx; a 3xx too, as a refused request). */
export function errorFromAnswer(deployer: DeployerRef, answer: DeployerAnswer): DeployerError {
  if (answer.status === 401 || answer.status === 403) {
    return new DeployerAuthFailed(deployer, said(answer), answerDetails(answer));
  }
  if (answer.status === 422) {
    return new DeployerPolicyRejected(deployer, answer);
  }
  if (answer.status === 409) {
    return new DeployerFull(deployer, answer);
  }
  if (fromGateway(answer)) {
    return new DeployerUnreachable(deployer, `a gateway answered ${answer.status}`, 'unreachable', {
      deployer_status: answer.status,
    });
  }
  if (answer.status >= 500 || answer.status === 429) {
    return new DeployerServerError(deployer, answer);
  }
  return new DeployerRequestRejected(deployer, answer);
}

export type ConnectionFailureKind = 'auth' | 'timeout' | 'unreachable';

/** Codes of the checks of the server's certificate (OpenSSL's verify errors, and the name check). */
const SERVER_CERTIFICATE =
  /^(?:UNABLE_TO_|CERT_|CRL_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)/;
/** An alert the server sent during the handshake: e.g. certificate required, bad certificate, unknown CA. */
const SERVER_ALERT = /^ERR_SSL_.*ALERT/;
const TIMEOUTS = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** The error's code, its causes' and (happy eyeballs tried several addresses) its parts'. */
function codesOf(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 4) {
    return [];
  }
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return [
    ...(typeof code === 'string' ? [code] : []),
    ...codesOf(cause, depth + 1),
    ...(error instanceof AggregateError ? error.errors.flatMap((part) => codesOf(part, depth + 1)) : []),
  ];
}

/**
 * A connection closed by the server before it sent a single byte. A Node.js TLS server (the
 * deployer's listener) checks the client certificate after the handshake and then drops the
 * connection without an alert, so over TLS this is how a refused (or missing) client certificate
 * looks. A reused connection has read earlier answers, so it never counts.
 */
function closedBeforeAnyByte(error: unknown): boolean {
  const failure = error as { code?: unknown; socket?: { bytesRead?: unknown } };
  return failure?.code === 'UND_ERR_SOCKET' && failure.socket?.bytesRead === 0;
}

/**
 * What a call that got no answer says about the deployer (pure). `overTls`: the endpoint is https.
 * Auth: the server's certificate is not one the pinned CA signed (or not for this host), the server
 * refused ours with an alert, or it hung up right after the handshake (above). Everything else —
 * refused, reset before TLS, DNS, a plain-HTTP port spoken to in TLS — is unreachable; timeouts too,
 * told apart for messages.
 */
export function classifyConnectionFailure(error: unknown, overTls: boolean): ConnectionFailureKind {
  const codes = codesOf(error);
  if (codes.some((code) => SERVER_CERTIFICATE.test(code) || SERVER_ALERT.test(code))) {
    return 'auth';
  }
  if (overTls && closedBeforeAnyByte(error)) {
    return 'auth';
  }
  return codes.some((code) => TIMEOUTS.has(code)) ? 'timeout' : 'unreachable';
}

/** The typed error for a call that got no answer; the message is the failure's own (no credentials in it). */
export function errorFromConnectionFailure(
  deployer: DeployerRef,
  error: unknown,
  overTls: boolean,
): DeployerError {
  const kind = classifyConnectionFailure(error, overTls);
  const why = describe(error);
  const extra = codesOf(error)[0] ? { cause_code: codesOf(error)[0] } : {};
  switch (kind) {
    case 'auth':
      return new DeployerAuthFailed(
        deployer,
        closedBeforeAnyByte(error) ? 'the TLS connection was closed: client certificate refused?' : why,
        extra,
      );
    case 'timeout':
      return new DeployerUnreachable(deployer, why, 'timeout', extra);
    case 'unreachable':
      return new DeployerUnreachable(deployer, why, 'unreachable', extra);
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return describe(error.errors[0]); // happy eyeballs: the first address's failure
  }
  return error instanceof Error ? error.message || error.name : String(error);
}
