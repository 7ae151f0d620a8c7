/**
 * The fields the policy's rules read must have the JSON type the rules expect: a `containers`
 * that is not a list could otherwise hide a privileged container from them (or crash them). A
 * field of the wrong type is a violation of its own, and the rules do not look into that object.
 */
import type { Manifest, PolicyViolation } from './contract';

type Shape = 'object' | 'list';

/** What the rules read in a pod spec, and the type each must have. */
const POD_SHAPES: [path: string, shape: Shape][] = [
  ['volumes', 'list'],
  ['volumes[]', 'object'],
  ['volumes[].persistentVolumeClaim', 'object'],
  ['volumes[].ephemeral', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate.metadata', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate.metadata.labels', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate.metadata.annotations', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate.spec', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate.spec.resources', 'object'],
  ['volumes[].ephemeral.volumeClaimTemplate.spec.resources.requests', 'object'],
  ['resources', 'object'],
  ['resources.requests', 'object'],
  ['resources.limits', 'object'],
  ...(['containers', 'initContainers'] as const).flatMap((list): [string, Shape][] => [
    [list, 'list'],
    [`${list}[]`, 'object'],
    [`${list}[].securityContext`, 'object'],
    [`${list}[].securityContext.capabilities`, 'object'],
    [`${list}[].securityContext.capabilities.add`, 'list'],
    [`${list}[].resources`, 'object'],
    [`${list}[].resources.requests`, 'object'],
    [`${list}[].resources.limits`, 'object'],
    [`${list}[].securityContext.seccompProfile`, 'object'],
    [`${list}[].securityContext.appArmorProfile`, 'object'],
    [`${list}[].securityContext.seLinuxOptions`, 'object'],
    [`${list}[].securityContext.windowsOptions`, 'object'],
    [`${list}[].ports`, 'list'],
    [`${list}[].ports[]`, 'object'],
    [`${list}[].lifecycle`, 'object'],
  ]),
  ['securityContext', 'object'],
  ['securityContext.seccompProfile', 'object'],
  ['securityContext.appArmorProfile', 'object'],
  ['securityContext.seLinuxOptions', 'object'],
  ['securityContext.windowsOptions', 'object'],
  ['securityContext.sysctls', 'list'],
  ['securityContext.sysctls[]', 'object'],
];

/** The same for each kind (metadata itself is checked when a spec is parsed). */
function shapesOf(kind: string): [string, Shape][] {
  const pod = (prefix: string) =>
    POD_SHAPES.map(([path, shape]): [string, Shape] => [`${prefix}.${path}`, shape]);
  const common: [string, Shape][] = [
    ['metadata.labels', 'object'],
    ['metadata.annotations', 'object'],
    ['spec', 'object'],
  ];
  switch (kind) {
    case 'Pod':
      return [...common, ...pod('spec')];
    case 'Deployment':
    case 'Job':
      return [
        ...common,
        ['spec.template', 'object'],
        ['spec.template.metadata', 'object'],
        ['spec.template.metadata.labels', 'object'],
        ['spec.template.metadata.annotations', 'object'],
        ['spec.template.spec', 'object'],
        ...pod('spec.template.spec'),
      ];
    case 'PersistentVolume':
    case 'PersistentVolumeClaim':
      return [
        ...common,
        ['spec.capacity', 'object'],
        ['spec.csi', 'object'],
        ['spec.resources', 'object'],
        ['spec.resources.requests', 'object'],
      ];
    case 'ConfigMap':
      return [...common, ['data', 'object'], ['binaryData', 'object']];
    default:
      return common;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The values at a path (`[]` spreads over a list's items) with their concrete paths; absent or
 * null ones are skipped (Kubernetes reads null as unset), as are those under a parent of the
 * wrong type (the parent's own check reports it).
 */
function valuesAt(root: unknown, path: string, at: string): { value: unknown; path: string }[] {
  let found = [{ value: root, path: at }];
  for (const step of path.split('.')) {
    const key = step.replace(/\[\]$/, '');
    found = found.flatMap(({ value, path: here }) => {
      const child = isRecord(value) ? value[key] : undefined;
      const childPath = `${here}.${key}`;
      if (child === undefined || child === null) {
        return [];
      }
      if (!step.endsWith('[]')) {
        return [{ value: child, path: childPath }];
      }
      return Array.isArray(child)
        ? child.map((item: unknown, index) => ({ value: item, path: `${childPath}[${index}]` }))
        : [];
    });
  }
  return found;
}

export function shapeViolations(manifest: Manifest, at: string): PolicyViolation[] {
  return shapesOf(manifest.kind).flatMap(([path, shape]) =>
    valuesAt(manifest, path, at)
      .filter(({ value }) => (shape === 'list' ? !Array.isArray(value) : !isRecord(value)))
      .map(({ path: where }) => ({
        path: where,
        rule: `must be ${shape === 'list' ? 'a list' : 'an object'}`,
      })),
  );
}
