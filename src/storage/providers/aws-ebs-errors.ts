/**
 * What a failed EC2 call (or a call to a cluster's deployer made for an EBS volume) means for the
 * storage jobs, as a StorageProviderError kind. The table is the EC2 error codes the aws-ebs provider
 * meets; a code not in it falls back on what the SDK says of the failure (retryable, HTTP status,
 * whose fault), so every error gets a kind.
 *
 * Messages are the SDK's own (EC2 never echoes credentials) plus the operation; the client's
 * configuration is never read here, so its credentials cannot leak into a message or details.
 */
import { deployerFailureKind } from './deployer-failures';
import { StorageProviderError, type StorageFailureKind } from './storage-provider.errors';

const PROVIDER = 'aws-ebs';

/** EC2 error codes (the SDK error's `name`) by the kind the jobs act on. */
const KIND_BY_CODE: Readonly<Record<string, StorageFailureKind>> = {
  RequestLimitExceeded: 'unavailable',
  Throttling: 'unavailable',
  ThrottlingException: 'unavailable',
  InternalError: 'unavailable',
  InternalFailure: 'unavailable',
  ServiceUnavailable: 'unavailable',
  Unavailable: 'unavailable',
  RequestTimeout: 'unavailable',
  RequestTimeoutException: 'unavailable',
  TimeoutError: 'unavailable',
  // Per-volume snapshot pacing: the pending snapshots finish, then another may start.
  ConcurrentSnapshotLimitExceeded: 'unavailable',
  SnapshotCreationPerVolumeRateExceeded: 'unavailable',

  'InvalidVolume.NotFound': 'not_found',
  'InvalidSnapshot.NotFound': 'not_found',

  VolumeInUse: 'in_use',
  'InvalidSnapshot.InUse': 'in_use',
  IncorrectState: 'in_use',

  VolumeLimitExceeded: 'limit',
  SnapshotLimitExceeded: 'limit',
  InsufficientVolumeCapacity: 'limit',
  MaxIOPSLimitExceeded: 'limit',

  UnauthorizedOperation: 'forbidden',
  AuthFailure: 'forbidden',
  Blocked: 'forbidden',
  OptInRequired: 'forbidden',
  AccessDenied: 'forbidden',
  AccessDeniedException: 'forbidden',
  InvalidClientTokenId: 'forbidden',
  SignatureDoesNotMatch: 'forbidden',
  ExpiredToken: 'forbidden',
  UnrecognizedClientException: 'forbidden',
  // The SDK found no credentials at all (no role, no keys): an operator's fix like a refused one.
  CredentialsProviderError: 'forbidden',

  InvalidParameterValue: 'invalid',
  InvalidParameter: 'invalid',
  InvalidParameterCombination: 'invalid',
  MissingParameter: 'invalid',
  'InvalidZone.NotFound': 'invalid',
  'InvalidVolumeID.Malformed': 'invalid',
  'InvalidSnapshotID.Malformed': 'invalid',
  'InvalidVolume.ZoneMismatch': 'invalid',
  // The same ClientToken (disk name) asked again with other parameters (size, zone, snapshot).
  IdempotentParameterMismatch: 'invalid',
};

/** Node's socket and DNS failures: the request may never have reached EC2. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
]);

/** The fields of an SDK (smithy) error this mapping reads; any of them may be missing. */
interface SdkErrorFields {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

function fieldsOf(error: unknown): SdkErrorFields {
  return typeof error === 'object' && error !== null ? error : {};
}

/** The socket error code of the error or of one of its causes. */
function networkCodeOf(error: unknown, depth = 0): string | undefined {
  const { code, cause } = fieldsOf(error);
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return code;
  }
  return depth < 4 && cause !== undefined ? networkCodeOf(cause, depth + 1) : undefined;
}

/** The error's EC2 code: the SDK puts it in `name` (e.g. `InvalidVolume.NotFound`). */
export function ec2CodeOf(error: unknown): string | undefined {
  const { name } = fieldsOf(error);
  return typeof name === 'string' && name !== 'Error' ? name : undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  const status = fieldsOf(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** When EC2 did not say which error it is: what the SDK knows about the failure. */
function kindFromTransport(error: unknown): StorageFailureKind {
  const { $retryable, $fault } = fieldsOf(error);
  const status = httpStatusOf(error);
  if (networkCodeOf(error) !== undefined || $retryable !== undefined || status === 429) {
    return 'unavailable';
  }
  if (status === 401 || status === 403) {
    return 'forbidden';
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return 'invalid';
  }
  if (status === undefined && $fault === 'client') {
    return 'invalid';
  }
  // A 5xx, or no answer at all (nothing says the request was wrong): another try may work.
  return 'unavailable';
}

/** The kind of a failed EC2 call (pure): the code table first, then the transport's signs. */
export function ec2FailureKind(error: unknown): StorageFailureKind {
  const code = ec2CodeOf(error);
  const known = code !== undefined && Object.hasOwn(KIND_BY_CODE, code) ? KIND_BY_CODE[code] : undefined;
  return known ?? kindFromTransport(error);
}

/**
 * A failed EC2 call as the StorageProviderError the jobs act on; `operation` says what was tried
 * (`CreateVolume vol-…`). A StorageProviderError passes through unchanged.
 */
export function storageErrorFromEc2(error: unknown, operation: string): StorageProviderError {
  if (error instanceof StorageProviderError) {
    return error;
  }
  const { message } = fieldsOf(error);
  const code = ec2CodeOf(error) ?? networkCodeOf(error);
  const said = typeof message === 'string' && message !== '' ? message : 'no message';
  const requestId = fieldsOf(error).$metadata?.requestId;
  const status = httpStatusOf(error);
  return new StorageProviderError(
    ec2FailureKind(error),
    PROVIDER,
    `${operation} failed: ${code ? `${code}: ` : ''}${said}`,
    {
      cause: error,
      details: {
        ...(code ? { aws_code: code } : {}),
        ...(status !== undefined ? { aws_status: status } : {}),
        ...(typeof requestId === 'string' ? { aws_request_id: requestId } : {}),
      },
    },
  );
}

export function storageErrorFromDeployer(
  error: unknown,
  operation: string,
  onConflict: StorageFailureKind,
): StorageProviderError {
  if (error instanceof StorageProviderError) {
    return error;
  }
  const said = error instanceof Error ? error.message : String(error);
  return new StorageProviderError(
    deployerFailureKind(error, onConflict),
    PROVIDER,
    `${operation} failed: ${said}`,
    {
      cause: error,
    },
  );
}
