/**
 * The OpenAPI v3 discovery kubectl reads before `apply` and `create`: a root listing one document
 * per group version, and per group version the item paths of each kind, whose PATCH carries the
 * kind (`x-kubernetes-group-version-kind`) and query parameters including `fieldValidation` — which
 * tells kubectl that this server validates objects itself (it does: schema and semantic checks),
 * so kubectl sends `fieldValidation=Strict` instead of validating client-side.
 */
import { createHash } from 'node:crypto';
import { apiVersionOf, groupVersions, RESOURCE_TYPES, type ResourceType } from './resources';

const prefixOf = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

const PARAMETERS = ['fieldValidation', 'fieldManager', 'dryRun', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

function itemPath(type: ResourceType): string {
  const base = `/${prefixOf(type.group, type.version)}`;
  return type.namespaced
    ? `${base}/namespaces/{namespace}/${type.plural}/{name}`
    : `${base}/${type.plural}/{name}`;
}

function gvDocument(group: string, version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const type of RESOURCE_TYPES.filter((t) => t.group === group && t.version === version)) {
    const gvk = { group, version, kind: type.kind };
    const operation = (action: string) => ({
      operationId: `${action}${type.kind}`,
      parameters: PARAMETERS,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      responses: { '200': { description: 'OK' } },
    });
    paths[itemPath(type)] = {
      get: operation('get'),
      put: operation('put'),
      patch: operation('patch'),
      delete: operation('delete'),
    };
  }
  return {
    openapi: '3.0.0',
    info: {
      title: 'Kubernetes (ODC simulated cluster)',
      version: apiVersionOf({ group, version } as ResourceType),
    },
    paths,
    components: { schemas: {} },
  };
}

const documents = new Map(
  groupVersions().map(({ group, version }) => {
    const document = gvDocument(group, version);
    const hash = createHash('sha512')
      .update(JSON.stringify(document))
      .digest('hex')
      .toUpperCase()
      .slice(0, 64);
    return [prefixOf(group, version), { document, hash }];
  }),
);

/** The document for `/openapi/v3` or `/openapi/v3/<group-version path>`, if that is what was asked. */
export function openApiV3(path: string): unknown {
  if (path === '/openapi/v3') {
    return {
      paths: Object.fromEntries(
        [...documents].map(([prefix, { hash }]) => [
          prefix,
          { serverRelativeURL: `/openapi/v3/${prefix}?hash=${hash}` },
        ]),
      ),
    };
  }
  const prefix = path.startsWith('/openapi/v3/') ? path.slice('/openapi/v3/'.length) : undefined;
  return prefix ? documents.get(prefix)?.document : undefined;
}
