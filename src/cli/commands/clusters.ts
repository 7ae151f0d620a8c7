/** Admin: cluster list|show|add|enable|disable|drain|undrain|reload. */
import type { Command } from 'commander';
import type { ClusterCapacityDto } from '../../clusters/dto/availability.dto';
import type { ClusterDto, ClusterListDto } from '../../clusters/dto/cluster.dto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { OdcApi } from '../api';
import { contextOf, usage } from '../context';
import { colors, when } from '../output';

const STATE_ACTIONS = ['enable', 'disable', 'drain', 'undrain'] as const;

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('Registered clusters (admins)');
  cluster
    .command('list')
    .description('Every cluster with its state and health')
    .action(async (_options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const { items: clusters } = await api().get<ClusterListDto>('/api/v1/clusters');
      out.data(clusters, () =>
        out.table(
          ['NAME', 'STATE', 'HEALTH', 'PRIORITY', 'DEPLOYER', 'CHECKED'],
          clusters.map((c) => [
            c.name,
            c.enabled
              ? c.draining
                ? colors.yellow('draining')
                : colors.green('enabled')
              : colors.red('disabled'),
            c.status === 'healthy' ? colors.green(c.status) : colors.red(c.status),
            c.priority,
            c.deployer_url,
            when(c.last_health_check),
          ]),
        ),
      );
    });
  cluster
    .command('show')
    .description('One cluster and its nodes’ capacity')
    .argument('<name>', 'name or id')
    .action(async (name: string, _options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const found = await clusterNamed(api(), name);
      const capacity = await api().get<ClusterCapacityDto>(`/api/v1/clusters/${found.id}/capacity`);
      out.data({ ...found, capacity }, () => {
        out.line(`${colors.bold(found.name)} (${found.id})`);
        out.line(`  deployer: ${found.deployer_url}`);
        out.line(
          `  state:    ${found.enabled ? (found.draining ? 'draining' : 'enabled') : 'disabled'}, priority ${found.priority}`,
        );
        out.line(
          `  health:   ${found.status}${found.last_error ? ` (${found.last_error})` : ''}, checked ${when(found.last_health_check)}`,
        );
        out.line(`  nodes:    ${capacity.nodes.length}`);
      });
    });
  cluster
    .command('add')
    .description('Register a cluster by its deployer (the connection is tested first)')
    .argument('<name>')
    .requiredOption('--deployer-url <url>', 'the deployer, e.g. https://deployer.gpu-a.example.com')
    .option('--token-file <file>', 'a file holding the deployer’s bearer token')
    .option('--ca-cert <file>', 'PEM: the CA that signed the deployer’s certificate')
    .option('--client-cert <file>', 'PEM: the client certificate for mTLS')
    .option('--client-key <file>', 'PEM: its private key')
    .option('--profile <file>', 'the cluster profile, JSON or YAML')
    .option('--priority <n>', 'lower is preferred', '100')
    .action(async (name: string, options: AddOptions, command: Command) => {
      const { out, api } = contextOf(command);
      const read = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined);
      const priority = Number(options.priority);
      if (!Number.isInteger(priority)) {
        throw usage(`--priority must be a whole number, not ${options.priority}`);
      }
      const clientCert = read(options.clientCert);
      const created = await api().post<ClusterDto>('/api/v1/clusters', {
        name,
        deployer_url: options.deployerUrl,
        priority,
        ...(options.tokenFile ? { token: read(options.tokenFile)!.trim() } : {}),
        ...(options.caCert ? { ca_cert: read(options.caCert) } : {}),
        ...(clientCert
          ? { mtls_enabled: true, client_cert: clientCert, client_key: read(options.clientKey) }
          : {}),
        ...(options.profile ? { profile: parseYaml(read(options.profile)!) as object } : {}),
      });
      out.data(created, () => out.line(`Registered ${created.name}: ${created.status}.`));
    });
  for (const action of STATE_ACTIONS) {
    cluster
      .command(action)
      .description(
        {
          enable: 'Accept reservations again',
          disable: 'Stop using it at once (running reservations stay)',
          drain: 'No new reservations; running ones finish',
          undrain: 'Take new reservations again',
        }[action],
      )
      .argument('<name>', 'name or id')
      .action(async (name: string, _options: object, command: Command) => {
        const { out, api } = contextOf(command);
        const found = await clusterNamed(api(), name);
        const changed = await api().post<ClusterDto>(`/api/v1/clusters/${found.id}/${action}`);
        out.data(changed, () =>
          out.line(
            `${changed.name}: ${changed.enabled ? (changed.draining ? 'draining' : 'enabled') : 'disabled'}.`,
          ),
        );
      });
  }
  cluster
    .command('reload')
    .description('Make every replica re-read the registry now')
    .action(async (_options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const result = await api().post<object>('/api/v1/clusters/reload');
      out.data(result, () => out.line('Reloaded.'));
    });
}

interface AddOptions {
  deployerUrl: string;
  tokenFile?: string;
  caCert?: string;
  clientCert?: string;
  clientKey?: string;
  profile?: string;
  priority: string;
}

async function clusterNamed(api: OdcApi, name: string): Promise<ClusterDto> {
  const found = (await api.get<ClusterListDto>('/api/v1/clusters')).items.find(
    (c) => c.name === name || c.id === name,
  );
  if (!found) {
    throw usage(`No cluster ${name} (gpu-dev cluster list shows them)`);
  }
  return found;
}
