/**
 * What the chart checks read: the charts' values and schemas, their templates with the Go template
 * actions blanked (`npm test` runs without helm), and the example manifests under helm/examples
 * (rendered by the real helm: scripts/helm/examples.sh).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export const HELM_DIR = join(__dirname, '..', '..', 'helm');
export const EXAMPLES_DIR = join(HELM_DIR, 'examples');

export type ChartName = 'odc' | 'odc-deployer';
export const CHARTS: ChartName[] = ['odc', 'odc-deployer'];

/** One `helm template` run: the values it used and what it rendered (scripts/helm/examples.sh). */
export interface Example {
  chart: ChartName;
  values: string;
  manifest: string;
}

/**
 * The same rule as scripts/helm/examples.sh: `<name>.values.yaml` renders to `<name>.yaml` with the
 * chart its name starts with.
 */
export const EXAMPLES: Example[] = readdirSync(EXAMPLES_DIR)
  .filter((file) => file.endsWith('.values.yaml'))
  .sort()
  .map((values) => ({
    chart: values.startsWith('odc-deployer') ? 'odc-deployer' : 'odc',
    values,
    manifest: values.replace(/\.values\.yaml$/, '.yaml'),
  }));

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR).sort();
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export function chartValues(chart: ChartName): unknown {
  return parseYaml(readFileSync(join(HELM_DIR, chart, 'values.yaml'), 'utf8'));
}

export function chartSchema(chart: ChartName): Record<string, unknown> {
  return JSON.parse(readFileSync(join(HELM_DIR, chart, 'values.schema.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

export function exampleValues(file: string): unknown {
  return parseYaml(readFileSync(join(EXAMPLES_DIR, file), 'utf8'));
}

const isMap = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The values Helm validates and renders with: the chart's defaults with the user's file laid
 * over them, as Helm coalesces them (maps merge key by key, anything else replaces, null removes).
 */
export function coalesce(defaults: unknown, overrides: unknown): unknown {
  if (!isMap(defaults) || !isMap(overrides)) {
    return overrides === undefined ? defaults : overrides;
  }
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) {
      delete merged[key];
    } else {
      merged[key] = coalesce(defaults[key], value);
    }
  }
  return merged;
}

/** A multi-document YAML text's objects; a syntax error throws with the file's name. */
export function parseObjects(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${source}: ${document.errors.map((error) => error.message).join('; ')}`);
    }
    const object = document.toJS() as K8sObject | null;
    return object ? [object] : [];
  });
}

export function exampleObjects(file: string): K8sObject[] {
  return parseObjects(readFileSync(join(EXAMPLES_DIR, file), 'utf8'), file);
}

/**
 * A template with its actions blanked: a line holding only actions disappears, an action inside a
 * line becomes empty, and the includes (and variables) that name an object by the release become
 * that name (every example's release is named after its chart), so the objects' names can be
 * compared with the examples'.
 */
export function blankTemplate(text: string, chart: ChartName): string {
  const namedByRelease = new RegExp(
    `\\{\\{-?\\s*(?:include\\s+"${chart}\\.(?:fullname|serviceAccountName|secretName)"\\s+[.$]|\\$fullname|\\$serviceAccount)\\s*-?\\}\\}`,
    'g',
  );
  return text
    .replace(namedByRelease, chart)
    .split('\n')
    .map((line) => (/^\s*(\{\{.*?\}\}\s*)+$/.test(line) ? '' : line.replace(/\{\{.*?\}\}/g, '')))
    .join('\n');
}

export function templateFiles(chart: ChartName): string[] {
  return readdirSync(join(HELM_DIR, chart, 'templates'))
    .filter((file) => file.endsWith('.yaml'))
    .sort();
}

export function templateObjects(chart: ChartName, file: string): K8sObject[] {
  const text = readFileSync(join(HELM_DIR, chart, 'templates', file), 'utf8');
  return parseObjects(blankTemplate(text, chart), `${chart}/templates/${file}`);
}

/** `Kind/name` of objects, for comparing sets. */
export function kindAndName(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.name}`;
}
