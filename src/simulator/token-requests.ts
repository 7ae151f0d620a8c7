/** The TokenRequest subresource (`POST …/serviceaccounts/{name}/token`): a new token for an account. */
import type { IncomingMessage } from 'node:http';
import { k8sNow } from './time';
import { resourceType, type ApiServerState, type Route } from './api-context';
import { PROTOBUF, tokenRequestSpecFromProtobuf } from './protobuf';
import { parseBody } from './request-body';
import { invalid } from './status';
import { DEFAULT_TOKEN_SECONDS, MIN_TOKEN_SECONDS, type IssuedToken } from './tokens';

/** The audience a token is for when the request names none (a kind cluster's API server audience). */
const DEFAULT_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

type TokenRequestSpec = { audiences?: string[] | null; expirationSeconds?: number | null };

/** A TokenRequest answered with a new token for the account the route names. */
export function tokenRequest(
  state: ApiServerState,
  route: Route,
  body: Buffer,
  req: IncomingMessage,
): unknown {
  const spec = tokenRequestSpec(body, req);
  const seconds = spec.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
  const [namespace, name] = [route.namespace!, route.name!];
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name, namespace, creationTimestamp: k8sNow() },
    spec: {
      audiences: spec.audiences?.length ? spec.audiences : [DEFAULT_AUDIENCE],
      expirationSeconds: seconds,
      boundObjectRef: null,
    },
    status: requestToken(state, namespace, name, seconds),
  };
}

/** Throws the 404 Status when the account does not exist, 422 for less than ten minutes. */
export function requestToken(
  state: ApiServerState,
  namespace: string,
  name: string,
  expirationSeconds: number,
): IssuedToken {
  const account = state.store.mustGet(resourceType('', 'serviceaccounts'), namespace, name);
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_TOKEN_SECONDS) {
    throw invalid(
      'TokenRequest',
      name,
      [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(expirationSeconds)}: may not specify a duration less than 10 minutes`,
          field: 'spec.expirationSeconds',
        },
      ],
      'authentication.k8s.io',
    );
  }
  return state.tokens.issue({ namespace, name, uid: account.metadata.uid! }, expirationSeconds);
}

/** A TokenRequest's spec, from JSON or (as kubectl sends it) protobuf; an empty body asks for the defaults. */
function tokenRequestSpec(body: Buffer, req: IncomingMessage): TokenRequestSpec {
  if ((req.headers['content-type'] ?? '').startsWith(PROTOBUF)) {
    return tokenRequestSpecFromProtobuf(body);
  }
  const text = body.toString('utf8');
  return text.trim() ? (parseBody(text, req).spec ?? {}) : {};
}
