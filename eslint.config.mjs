// @ts-check
import eslint from '@eslint/js';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import tseslint from 'typescript-eslint';

/**
 * Which top-level folders of src/ each may import besides its own (docs/architecture.md, "Layers"):
 * dependencies point one way, app → reservations → storage → clusters → auth → audit → infra, with
 * the deployer's contract beside them above infra; the simulator is imported by app (lazily),
 * scripts and tests only. A folder reaches another through that folder's `public.ts` (infra, the
 * shared kernel, through any file). Folders not listed (app, cli) and the entry points beside them
 * (main.ts, lambda.ts) compose and may import any file.
 */
const LAYERS = {
  infra: [],
  simulator: ['infra'],
  deployer: ['infra'],
  health: ['infra'],
  audit: ['infra'],
  auth: ['audit', 'infra'],
  clusters: ['auth', 'audit', 'deployer', 'infra'],
  storage: ['clusters', 'auth', 'audit', 'deployer', 'infra'],
  reservations: ['storage', 'clusters', 'auth', 'audit', 'deployer', 'infra'],
};

// Each folder names only folders listed before it, so no two folders import each other, however
// indirectly: the table cannot describe a cycle.
Object.entries(LAYERS).forEach(([folder, allowed], index) => {
  const upward = allowed.filter((to) => !Object.keys(LAYERS).slice(0, index).includes(to));
  if (upward.length > 0) {
    throw new Error(`LAYERS: ${folder} may import only folders listed before it, not ${upward.join(', ')}`);
  }
});

/**
 * The picture in docs/architecture.md ("Layers", a mermaid flowchart) must say what LAYERS says:
 * the folders each reaches along its arrows are the ones it may import (app, the composition root,
 * reaches everything and is not in LAYERS). Lint refuses to run while they disagree.
 */
function assertPictureMatchesLayers() {
  const doc = readFileSync(resolve(import.meta.dirname, 'docs/architecture.md'), 'utf8');
  const picture = /## Layers[\s\S]*?```mermaid\n([\s\S]*?)```/.exec(doc)?.[1];
  if (picture === undefined) {
    throw new Error('docs/architecture.md has no mermaid picture under "## Layers"');
  }
  /** @type {Map<string, Set<string>>} */
  const arrows = new Map();
  for (const [, from, to] of picture.matchAll(/^\s*(\w+)(?:\[[^\]]*\])?\s*-->\s*(\w+)/gm)) {
    arrows.set(from, (arrows.get(from) ?? new Set()).add(to));
  }
  const reach = (folder, seen = new Set()) => {
    for (const next of arrows.get(folder) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        reach(next, seen);
      }
    }
    return seen;
  };
  const drawn = [...new Set([...arrows.keys(), ...[...arrows.values()].flatMap((to) => [...to])])];
  const differences = drawn
    .filter((folder) => folder !== 'app')
    .flatMap((folder) => {
      const pictured = [...reach(folder)].sort().join(', ');
      const listed = [...(LAYERS[folder] ?? ['(not in LAYERS)'])].sort().join(', ');
      return pictured === listed
        ? []
        : [`${folder}: the picture reaches [${pictured}], LAYERS lists [${listed}]`];
    });
  const undrawn = Object.keys(LAYERS).filter((folder) => !drawn.includes(folder));
  if (differences.length > 0 || undrawn.length > 0) {
    throw new Error(
      `docs/architecture.md's Layers picture and LAYERS disagree:\n${[...differences, ...undrawn.map((f) => `${f}: not drawn`)].join('\n')}`,
    );
  }
}
assertPictureMatchesLayers();

const SRC = resolve(import.meta.dirname, 'src');

/** @type {import('eslint').Rule.RuleModule} */
const layersRule = {
  meta: {
    type: 'problem',
    schema: [],
    messages: {
      upward: '{{from}} may not import {{to}} ({{source}}): see LAYERS',
      private: '{{from}} may import {{to}} only through {{to}}/public ({{source}})',
    },
  },
  create(context) {
    const file = relative(SRC, context.filename);
    const from = file.split('/')[0];
    const allowed = LAYERS[from];
    if (file.startsWith('..') || allowed === undefined) {
      return {};
    }
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) {
        return;
      }
      const target = relative(SRC, resolve(dirname(context.filename), source));
      const to = target.split('/')[0];
      if (target.startsWith('..') || to === from || !target.includes('/')) {
        return;
      }
      if (!allowed.includes(to)) {
        context.report({ node, messageId: 'upward', data: { from, to, source } });
      } else if (to !== 'infra' && target !== `${to}/public`) {
        context.report({ node, messageId: 'private', data: { from, to, source } });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      TSImportType: (node) => check(node, node.argument?.literal?.value ?? node.argument?.value),
      CallExpression: (node) =>
        node.callee.type === 'Identifier' &&
        node.callee.name === 'require' &&
        node.arguments[0]?.type === 'Literal' &&
        check(node, node.arguments[0].value),
    };
  },
};

export default tseslint.config(
  {
    // bin/gpu-dev.js: the CLI's two-line CommonJS entry shim (the CLI itself is src/cli, typed).
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      '.odc/',
      'eslint.config.mjs',
      'jest.config.js',
      'bin/',
      '.dependency-cruiser.cjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
      'no-console': 'error',
    },
  },
  {
    // Build scripts in plain JavaScript (scripts/cli/bundle.mjs): no types to check them with.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/**/*.ts'],
    // Tests may reach anything they test with (the simulator, the project's root).
    ignores: ['src/**/*.spec.ts'],
    plugins: { odc: { rules: { layers: layersRule } } },
    rules: { 'odc/layers': 'error' },
  },
  {
    files: ['src/**/*.ts'],
    // The CLI is its own program: it reads its environment in one place too (src/cli/config.ts).
    ignores: ['src/infra/config/environment.ts', 'src/cli/config.ts', 'src/**/*.spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through its section (src/app/config.ts lists them).',
        },
      ],
    },
  },
  {
    // The CLI runs on its users' Node (20 and later), bundled alone: nothing that needs a newer
    // runtime, and of the server only types (which the bundle leaves out).
    files: ['src/cli/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'undici', message: 'Use the runtime’s fetch: undici 8 needs Node 22 or later.' }],
          patterns: [
            {
              group: ['../../*'],
              allowTypeImports: true,
              message: 'The CLI takes only types from the server (import type).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
