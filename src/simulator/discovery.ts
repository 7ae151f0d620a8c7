/**
 * The documents clients read to learn what the server serves: `/version`, `/api`, `/apis`, each
 * group and group version's resource list, and the OpenAPI v3 schemas.
 */
import { openApiV3 } from './openapi';
import {
  apiVersionOf,
  groupVersions,
  RESOURCE_TYPES,
  type ResourceType,
  type Subresource,
} from './resources';

const SIMULATED_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-odc-sim' };

/** The discovery document at `path`, or undefined when `path` is not one. */
export function discoveryDocument(path: string): unknown {
  if (path.startsWith('/openapi/v3')) {
    return openApiV3(path);
  }
  if (path === '/version') {
    return {
      ...SIMULATED_VERSION,
      gitCommit: 'simulated',
      gitTreeState: 'clean',
      buildDate: '2026-01-01T00:00:00Z',
      goVersion: 'go1.23',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
    };
  }
  const groups = groupVersions().filter((gv) => gv.group !== '');
  const groupEntry = (group: string) => {
    const versions = groups
      .filter((gv) => gv.group === group)
      .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
    return { name: group, versions, preferredVersion: versions[0] };
  };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...new Set(groups.map((g) => g.group))].map(groupEntry),
    };
  }
  const groupName = /^\/apis\/([^/]+)$/.exec(path)?.[1];
  if (groupName !== undefined && groups.some((g) => g.group === groupName)) {
    return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(groupName) };
  }
  const versionMatch = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
  if (versionMatch) {
    const groupVersion = versionMatch[1];
    const types = RESOURCE_TYPES.filter((t) => apiVersionOf(t) === groupVersion);
    if (types.length === 0) {
      return undefined;
    }
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion,
      resources: types.flatMap(resourceEntries),
    };
  }
  return undefined;
}

function resourceEntries(type: ResourceType): Record<string, unknown>[] {
  const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  const main = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs,
    ...(type.shortNames ? { shortNames: type.shortNames } : {}),
  };
  const subresources = (type.subresources ?? []).map((sub) => ({
    name: `${type.plural}/${sub}`,
    singularName: '',
    namespaced: type.namespaced,
    ...subresourceEntry(type, sub),
  }));
  return [main, ...subresources];
}

/** What discovery says a subresource is and allows; a token request is another group's kind. */
function subresourceEntry(type: ResourceType, sub: Subresource): Record<string, unknown> {
  switch (sub) {
    case 'status':
      return { kind: type.kind, verbs: ['get', 'patch', 'update'] };
    case 'log':
      return { kind: 'Pod', verbs: ['get'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
  }
}
