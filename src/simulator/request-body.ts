/** Reading and decoding request bodies: JSON, YAML for apply patches, size-limited. */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { apiVersionOf, type ResourceType } from './resources';
import { invalid, StatusError } from './status';
import type { K8sObject } from './store';

const BODY_LIMIT = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) {
      throw new StatusError('BadRequest', 'the request body is too large');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A create's or an update's body. A built-in kind's decoder takes a missing `apiVersion` and
 * `kind` from the URL (`prepare` in writes.ts); a custom resource's (unstructured) decoder does not, and refuses
 * a body of another version as kube-apiserver words it; a body of another kind is 422 `kind`.
 */
export function decodeBody(type: ResourceType, body: string, req: IncomingMessage): K8sObject {
  const object = parseBody(body, req);
  if (!type.custom || object === null || typeof object !== 'object') {
    return object;
  }
  const { kind, apiVersion } = object as { kind?: unknown; apiVersion?: unknown };
  if (typeof kind !== 'string' || kind === '') {
    const summary = body.length > 30 ? `${body.slice(0, 30)} ...` : body;
    throw new StatusError(
      'BadRequest',
      `the object provided is unrecognized (must be of type ${type.kind}): Object 'Kind' is missing in '${body}' (${summary})`,
    );
  }
  if (apiVersion !== apiVersionOf(type)) {
    throw new StatusError(
      'BadRequest',
      `the API version in the data (${typeof apiVersion === 'string' ? apiVersion : ''}) does not match the expected API version (${apiVersionOf(type)})`,
    );
  }
  if (kind !== type.kind) {
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '';
    throw invalid(
      kind,
      name,
      [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${kind}": must be ${type.kind}`,
          field: 'kind',
        },
      ],
      type.group,
    );
  }
  return object;
}

export function parseBody(body: string, req: IncomingMessage): K8sObject {
  try {
    return JSON.parse(body) as K8sObject;
  } catch {
    const type = req.headers['content-type'] ?? '';
    if (type.includes('yaml')) {
      return parseApplyBody(body);
    }
    throw new StatusError('BadRequest', `the body of the request could not be decoded as JSON`);
  }
}

function jsonObject(body: string): unknown {
  if (!body.trimStart().startsWith('{')) {
    return undefined;
  }
  try {
    return JSON.parse(body);
  } catch {
    return undefined; // YAML's flow style may look like JSON without being JSON
  }
}

export function parseApplyBody(body: string): K8sObject {
  try {
    // Clients (client-node, kubectl) send apply bodies as JSON, which is YAML too: parsed at
    // JSON's speed, and as YAML (to plain JSON values, nothing YAML-specific) only when it is not.
    return (jsonObject(body) ?? JSON.parse(JSON.stringify(parseYaml(body)))) as K8sObject;
  } catch (error) {
    throw new StatusError('BadRequest', `error decoding YAML: ${(error as Error).message}`);
  }
}
