import { EC2ServiceException } from '@aws-sdk/client-ec2';
import {
  DeployerAuthFailed,
  DeployerFull,
  DeployerPolicyRejected,
  DeployerRequestRejected,
  DeployerServerError,
  DeployerUnreachable,
} from '../../clusters/client/deployer-client.errors';
import { DeployerErrorCode } from '../../deployer/deployer.errors';
import { ec2FailureKind, storageErrorFromDeployer, storageErrorFromEc2 } from './aws-ebs-errors';
import { deployerFailureKind } from './deployer-failures';
import { StorageProviderError, type StorageFailureKind } from './storage-provider.errors';

/** An error as the SDK throws it for an EC2 error answer: the code in `name`. */
function ec2Error(code: string, status = 400, fault: 'client' | 'server' = 'client'): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: fault,
    $metadata: { httpStatusCode: status, requestId: 'req-123' },
    message: `EC2 says ${code}`,
  });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 1.2.3.4:443`), { code });
}

const DEPLOYER = { clusterId: 'c-1', name: 'gpu-east' };

describe('ec2FailureKind', () => {
  const table: [string, unknown, StorageFailureKind][] = [
    ['RequestLimitExceeded', ec2Error('RequestLimitExceeded', 503), 'unavailable'],
    ['Throttling', ec2Error('Throttling'), 'unavailable'],
    ['InternalError', ec2Error('InternalError', 500, 'server'), 'unavailable'],
    ['ServiceUnavailable', ec2Error('ServiceUnavailable', 503, 'server'), 'unavailable'],
    ['SDK timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'unavailable'],
    ['socket reset', networkError('ECONNRESET'), 'unavailable'],
    [
      'DNS failure in a cause',
      new Error('fetch failed', { cause: networkError('EAI_AGAIN') }),
      'unavailable',
    ],
    ['snapshot pacing', ec2Error('SnapshotCreationPerVolumeRateExceeded'), 'unavailable'],
    ['InvalidVolume.NotFound', ec2Error('InvalidVolume.NotFound'), 'not_found'],
    ['InvalidSnapshot.NotFound', ec2Error('InvalidSnapshot.NotFound'), 'not_found'],
    ['VolumeInUse', ec2Error('VolumeInUse'), 'in_use'],
    ['InvalidSnapshot.InUse', ec2Error('InvalidSnapshot.InUse'), 'in_use'],
    ['IncorrectState', ec2Error('IncorrectState'), 'in_use'],
    ['VolumeLimitExceeded', ec2Error('VolumeLimitExceeded'), 'limit'],
    ['SnapshotLimitExceeded', ec2Error('SnapshotLimitExceeded'), 'limit'],
    ['InsufficientVolumeCapacity', ec2Error('InsufficientVolumeCapacity', 503, 'server'), 'limit'],
    ['MaxIOPSLimitExceeded', ec2Error('MaxIOPSLimitExceeded'), 'limit'],
    ['UnauthorizedOperation', ec2Error('UnauthorizedOperation', 403), 'forbidden'],
    ['AuthFailure', ec2Error('AuthFailure', 401), 'forbidden'],
    ['Blocked', ec2Error('Blocked', 403), 'forbidden'],
    [
      'no credentials found',
      Object.assign(new Error('none'), { name: 'CredentialsProviderError' }),
      'forbidden',
    ],
    ['InvalidParameterValue', ec2Error('InvalidParameterValue'), 'invalid'],
    ['InvalidZone.NotFound', ec2Error('InvalidZone.NotFound'), 'invalid'],
    ['InvalidParameterCombination', ec2Error('InvalidParameterCombination'), 'invalid'],
    ['IdempotentParameterMismatch', ec2Error('IdempotentParameterMismatch'), 'invalid'],
    ['an unknown 4xx', ec2Error('SomethingNew.Wrong', 400), 'invalid'],
    ['an unknown 403', ec2Error('SomethingNew.Denied', 403), 'forbidden'],
    ['an unknown 429', ec2Error('SomethingNew.Slow', 429), 'unavailable'],
    ['an unknown 5xx', ec2Error('SomethingNew.Broken', 502, 'server'), 'unavailable'],
    ['a client fault without a status', { name: 'Odd', $fault: 'client', $metadata: {} }, 'invalid'],
    ['nothing to go by', 'a string', 'unavailable'],
  ];

  it.each(table)('%s → %s', (_label, error, kind) => {
    expect(ec2FailureKind(error)).toBe(kind);
  });
});

describe('storageErrorFromEc2', () => {
  it('throttling: unavailable and retryable, with the code, status and request id in details', () => {
    const error = storageErrorFromEc2(ec2Error('RequestLimitExceeded', 503), 'CreateVolume disk-1');
    expect(error).toBeInstanceOf(StorageProviderError);
    expect(error.kind).toBe('unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'aws-ebs: CreateVolume disk-1 failed: RequestLimitExceeded: EC2 says RequestLimitExceeded',
    );
    expect(error.details).toMatchObject({
      aws_code: 'RequestLimitExceeded',
      aws_status: 503,
      aws_request_id: 'req-123',
    });
  });

  it('keeps the SDK error as the cause, and passes a StorageProviderError through unchanged', () => {
    const sdk = ec2Error('InvalidVolume.NotFound');
    const error = storageErrorFromEc2(sdk, 'DescribeVolumes vol-1');
    expect(error.cause).toBe(sdk);
    expect(error.kind).toBe('not_found');
    expect(error.retryable).toBe(false);
    expect(storageErrorFromEc2(error, 'again')).toBe(error);
  });

  it('names the socket code when there is no EC2 code', () => {
    const error = storageErrorFromEc2(networkError('ECONNREFUSED'), 'DeleteVolume vol-1');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.details).toMatchObject({ aws_code: 'ECONNREFUSED' });
  });

  it('limit, forbidden and invalid are not retryable', () => {
    for (const code of ['VolumeLimitExceeded', 'UnauthorizedOperation', 'InvalidParameterValue']) {
      expect(storageErrorFromEc2(ec2Error(code), 'x').retryable).toBe(false);
    }
  });
});

describe('deployerFailureKind', () => {
  const table: [string, unknown, StorageFailureKind][] = [
    ['409', new DeployerFull(DEPLOYER, { status: 409, message: 'mounted' }), 'in_use'],
    ['401', new DeployerAuthFailed(DEPLOYER, '401'), 'forbidden'],
    [
      '422 policy',
      new DeployerPolicyRejected(DEPLOYER, { status: 422, code: DeployerErrorCode.PolicyViolation }),
      'forbidden',
    ],
    [
      '422 kube rejected',
      new DeployerPolicyRejected(DEPLOYER, { status: 422, code: DeployerErrorCode.KubeRejected }),
      'invalid',
    ],
    ['404', new DeployerRequestRejected(DEPLOYER, { status: 404, code: 'not_found' }), 'not_found'],
    ['400', new DeployerRequestRejected(DEPLOYER, { status: 400 }), 'invalid'],
    [
      '502 kube_forbidden',
      new DeployerServerError(DEPLOYER, { status: 502, code: DeployerErrorCode.KubeForbidden }),
      'forbidden',
    ],
    ['500', new DeployerServerError(DEPLOYER, { status: 500 }), 'unavailable'],
    ['unreachable', new DeployerUnreachable(DEPLOYER, 'ECONNREFUSED'), 'unavailable'],
  ];

  it.each(table)('%s → %s', (_label, error, kind) => {
    expect(deployerFailureKind(error, 'in_use')).toBe(kind);
  });

  it('a 409 means what the caller says it means', () => {
    const conflict = new DeployerFull(DEPLOYER, { status: 409 });
    expect(deployerFailureKind(conflict, 'invalid')).toBe('invalid');
    const error = storageErrorFromDeployer(conflict, 'attach vol-1', 'invalid');
    expect(error.kind).toBe('invalid');
    expect(error.cause).toBe(conflict);
    expect(error.message).toMatch(/^aws-ebs: attach vol-1 failed: Deployer of cluster gpu-east/);
  });
});
