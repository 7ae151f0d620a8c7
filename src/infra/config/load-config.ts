import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import { isSecret, rulesOf, type ConfigProblem } from './config-decorators';
import type { EnvSource } from './environment';

/**
 * The variables that belong together (a domain's, or the server's): a class with one field per
 * environment variable, named as the variable, validated by class-validator decorators, with its
 * rules across variables in `@ConfigRules`. A section that reads a variable of another one names it
 * with `declare` (typed, owned and checked there).
 */
export type ConfigSection<T extends object = object> = new () => T;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void
  ? I
  : never;

/** What loading `Sections` gives: every section's variables and getters on one object. */
export type ConfigOf<Sections extends readonly ConfigSection[]> = UnionToIntersection<
  InstanceType<Sections[number]>
>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Where a loaded configuration keeps the sections it was made of (its injection tokens). */
const SECTIONS = Symbol('config sections');

function variablesOf(section: ConfigSection): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(section, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}

/** The variable names, from the validation metadata (so optional fields without defaults count too). */
export function configKeys(sections: readonly ConfigSection[]): string[] {
  return sections.flatMap(variablesOf);
}

/** The sections a loaded configuration was made of: each is a token it is injected by. */
export function sectionsOf(config: object): readonly ConfigSection[] {
  return (config as { [SECTIONS]?: readonly ConfigSection[] })[SECTIONS] ?? [];
}

/** Each variable and getter has one section: two owners would silently shadow each other. */
function assertOneOwnerEach(sections: readonly ConfigSection[]): void {
  const owners = new Map<string, string>();
  for (const section of sections) {
    const names = [
      ...variablesOf(section),
      ...Object.getOwnPropertyNames(section.prototype).filter((name) => name !== 'constructor'),
    ];
    for (const name of names) {
      const owner = owners.get(name);
      if (owner !== undefined) {
        throw new Error(`configuration: ${name} is defined by both ${owner} and ${section.name}`);
      }
      owners.set(name, section.name);
    }
  }
}

/** The prototype of a loaded configuration: every section's getters and methods, and the sections. */
function mergedPrototype(sections: readonly ConfigSection[]): object {
  const prototype = Object.create(Object.prototype, { [SECTIONS]: { value: sections } }) as object;
  for (const section of sections) {
    const { constructor: _constructor, ...members } = Object.getOwnPropertyDescriptors(section.prototype);
    Object.defineProperties(prototype, members);
  }
  return prototype;
}

function shown(variable: string, value: unknown): string {
  return isSecret(variable) ? '***' : String(JSON.stringify(value));
}

function describeProblem(error: ValidationError): string {
  const reasons = Object.values(error.constraints ?? {}).join('; ');
  return `${error.property}: ${reasons} (got ${shown(error.property, error.value)})`;
}

function describeRuleProblem(problem: ConfigProblem, config: Record<string, unknown>): string {
  return `${problem.variable}: ${problem.message} (got ${shown(problem.variable, config[problem.variable])})`;
}

/**
 * One section's problems: its variables' own checks, seen on the whole configuration (a
 * `@ValidateIf` may read another section's variable); then, when those pass, its rules.
 */
function problemsOf(section: ConfigSection, config: Record<string, unknown>): string[] {
  const view = Object.assign(
    Object.create(Object.getPrototypeOf(config) as object, { constructor: { value: section } }) as object,
    config,
  );
  const errors = validateSync(view, { forbidUnknownValues: true });
  if (errors.length > 0) {
    return errors.map(describeProblem);
  }
  return rulesOf<Record<string, unknown>>(section).flatMap((rule) => {
    const problem = rule(config);
    return problem ? [describeRuleProblem(problem, config)] : [];
  });
}

/**
 * Validates the environment against every section at once: throws one ConfigError listing every
 * problem of every section, else returns the frozen configuration (variables under their own
 * names, the sections' getters and methods on it).
 */
export function loadConfig<const Sections extends readonly ConfigSection[]>(
  sections: Sections,
  source: EnvSource,
): Readonly<ConfigOf<Sections>> {
  assertOneOwnerEach(sections);
  const values = sections.map((section) => {
    const own = Object.fromEntries(
      variablesOf(section).flatMap((key) => (source[key] === undefined ? [] : [[key, source[key]]])),
    );
    return plainToInstance(section, own) as Record<string, unknown>;
  });
  const config = Object.assign(Object.create(mergedPrototype(sections)) as object, ...values) as Record<
    string,
    unknown
  >;
  const problems = sections.flatMap((section) => problemsOf(section, config));
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return Object.freeze(config) as Readonly<ConfigOf<Sections>>;
}

/**
 * A copy of a loaded config with some values replaced (a start's own token, a driver its own
 * simulated cluster adds): frozen like the original, its getters intact, the original untouched.
 */
export function configWith<T extends object>(config: T, overrides: Partial<T>): T {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(config) as object) as T, config, overrides);
  return Object.freeze(copy);
}

function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) {
      url.password = '***';
    }
    return url.toString();
  } catch {
    return '***';
  }
}

/** The configuration as it may be logged: secrets masked, URLs keep host and database. */
export function describeConfig(config: object): Record<string, unknown> {
  return Object.fromEntries(
    configKeys(sectionsOf(config)).map((key) => {
      const value = (config as Record<string, unknown>)[key];
      if (value === undefined || !isSecret(key)) {
        return [key, value];
      }
      return [key, key.endsWith('_URL') && typeof value === 'string' ? maskUrlPassword(value) : '***'];
    }),
  );
}
