/** keys list|create|revoke: your API keys (a new key's secret is printed once, never again). */
import type { Command } from 'commander';
import type { ApiKeyDto, ApiKeyListDto, IssuedApiKeyDto } from '../../auth/dto/api-key.dto';
import type { OdcApi } from '../api';
import { contextOf, usage } from '../context';
import { colors, when } from '../output';

const DEFAULT_SCOPES = 'reservations:read,reservations:write,disks:read,disks:write';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('Your API keys');
  keys
    .command('list')
    .description('Your keys (their prefixes: secrets are never shown again)')
    .action(async (_options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const list = await keysOf(api());
      out.data(list, () =>
        out.table(
          ['ID', 'NAME', 'PREFIX', 'SCOPES', 'ORIGIN', 'EXPIRES', 'LAST USED', 'STATE'],
          list.map((k) => [
            k.id.slice(0, 8),
            k.name,
            k.prefix,
            k.scopes.join(','),
            k.origin,
            when(k.expires_at),
            when(k.last_used_at),
            k.revoked_at ? colors.red('revoked') : colors.green('valid'),
          ]),
        ),
      );
    });
  keys
    .command('create')
    .description('A new key for scripts; its secret is printed once')
    .argument('<name>')
    .option('--scopes <scopes>', 'comma list', DEFAULT_SCOPES)
    .option('--ttl-hours <hours>', 'expires after this long')
    .action(async (name: string, options: { scopes: string; ttlHours?: string }, command: Command) => {
      const { out, api } = contextOf(command);
      const ttl = options.ttlHours === undefined ? undefined : Number(options.ttlHours);
      if (ttl !== undefined && (!Number.isFinite(ttl) || ttl <= 0)) {
        throw usage(`--ttl-hours must be a positive number, not ${options.ttlHours}`);
      }
      const created = await api().post<IssuedApiKeyDto>('/api/v1/keys', {
        name,
        scopes: options.scopes.split(',').map((s) => s.trim()),
        ...(ttl !== undefined ? { ttl_hours: ttl } : {}),
      });
      out.data(created, () => {
        out.line(`Key ${created.name} (${created.id.slice(0, 8)}), expires ${when(created.expires_at)}:`);
        out.line(created.key);
        out.line(colors.yellow('Store it now: it is not shown again.'));
      });
    });
  keys
    .command('revoke')
    .description('Revoke a key (by id or its first characters)')
    .argument('<id>')
    .action(async (id: string, _options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const matching = (await keysOf(api())).filter((k) => k.id.startsWith(id));
      const [key] = matching;
      if (!key || matching.length > 1) {
        throw usage(
          matching.length === 0 ? `No key ${id}` : `Which one? ${matching.map((k) => k.id).join(', ')}`,
        );
      }
      await api().delete(`/api/v1/keys/${key.id}`);
      out.data({ revoked: key.id }, () => out.line(`Revoked ${key.name} (${key.prefix}).`));
    });
}

async function keysOf(api: OdcApi): Promise<ApiKeyDto[]> {
  return (await api.get<ApiKeyListDto>('/api/v1/keys')).items;
}
