/**
 * The real helm, for the specs of the real-Kubernetes tier: the binary `npm run kube:build -- helm`
 * builds (docs/kube-tier.md), run with homes of its own on a copy of the charts whose dependency (the
 * odc chart's deployer subchart) is packaged there, as scripts/helm/examples.sh runs it.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/app/version';
import { HELM_DIR, type ChartName } from './charts';

const run = promisify(execFile);

export function helmBinary(): string {
  const binary = join(process.env.ODC_TOOLS_DIR ?? join(projectRoot(), '.odc', 'tools'), 'bin', 'helm');
  if (!existsSync(binary)) {
    throw new Error(`helm is not built (${binary} is missing): run \`npm run kube:build -- helm\``);
  }
  return binary;
}

/** A scratch copy of both charts, ready for `helm install`, and helm to run on them. */
export interface HelmWorkspace {
  /** The chart's directory in the copy. */
  chart(name: ChartName): string;
  /** Runs helm; resolves with its standard output, rejects with its standard error in the message. */
  helm(args: readonly string[]): Promise<string>;
  /** Removes the copy. */
  close(): void;
}

export async function helmWorkspace(): Promise<HelmWorkspace> {
  const binary = helmBinary();
  const dir = mkdtempSync(join(tmpdir(), 'odc-helm-'));
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(dir, 'home', 'cache'),
    HELM_CONFIG_HOME: join(dir, 'home', 'config'),
    HELM_DATA_HOME: join(dir, 'home', 'data'),
  };
  const chart = (name: ChartName) => join(dir, 'charts', name);
  const helm = async (args: readonly string[]) => {
    try {
      return (await run(binary, args, { env, maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`helm ${args.join(' ')} failed: ${stderr ?? String(error)}`, { cause: error });
    }
  };
  for (const name of ['odc', 'odc-deployer'] as const) {
    cpSync(join(HELM_DIR, name), chart(name), {
      recursive: true,
      // Build output of a `helm dependency build` in the working tree (git-ignored) stays there.
      filter: (source) => !/[/\\]odc[/\\](charts|Chart\.lock)$/.test(source),
    });
  }
  await helm(['dependency', 'update', '--skip-refresh', chart('odc')]);
  return { chart, helm, close: () => rmSync(dir, { recursive: true, force: true }) };
}
