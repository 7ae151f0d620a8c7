/** disk list|create|delete|undelete|rename|snapshot|snapshots|restore: your named persistent disks. */
import type { Command } from 'commander';
import type { DiskDto, DiskListDto, SnapshotDto, SnapshotListDto } from '../../storage/disks/dto/disk.dto';
import type { OdcApi } from '../api';
import { pollIntervalMs } from '../config';
import { contextOf, usage, type Context } from '../context';
import { CliError, ExitCode } from '../errors';
import { colors, when } from '../output';
import { confirm } from '../prompt';

const POLL_MS = pollIntervalMs();

const sizeGb = (value: string): number => {
  const size = Number(value);
  if (!Number.isInteger(size) || size <= 0) {
    throw usage(`--size must be a whole number of GB, not ${value}`);
  }
  return size;
};

function diskStatus(disk: DiskDto): string {
  switch (disk.status) {
    case 'free':
      return colors.green('free');
    case 'in_use':
      return colors.yellow('in use');
    case 'releasing':
      return colors.yellow('releasing');
    case 'lost':
      return colors.red('lost');
    case 'deleted':
    case 'purged':
      return colors.dim(disk.status);
  }
}

function snapshotStatus(snapshot: SnapshotDto): string {
  return snapshot.status === 'ready'
    ? colors.green('ready')
    : snapshot.status === 'failed'
      ? colors.red('failed')
      : snapshot.status === 'pending'
        ? colors.yellow('pending')
        : colors.dim(snapshot.status);
}

const path = (name: string, rest = '') => `/api/v1/disks/${encodeURIComponent(name)}${rest}`;

export function registerDiskCommands(program: Command): void {
  const disk = program
    .command('disk')
    .alias('disks')
    .description('Your named persistent disks (at /home/dev)');

  disk
    .command('list')
    .alias('ls')
    .description('Your disks: status, where they live, their snapshots')
    .option('--all', 'everyone’s (admins)')
    .option('--deleted', 'include deleted ones (in their grace period)')
    .action(async (options: { all?: boolean; deleted?: boolean }, command: Command) => {
      const { out, api } = contextOf(command);
      const query = new URLSearchParams({
        ...(options.all ? { user: 'all' } : {}),
        ...(options.deleted ? { deleted: 'true' } : {}),
      }).toString();
      const { items: disks } = await api().get<DiskListDto>(`/api/v1/disks${query ? `?${query}` : ''}`);
      out.data(disks, () => {
        if (disks.length === 0) {
          out.line('No disks yet: gpu-dev disk create <name>');
          return;
        }
        out.table(
          [
            'NAME',
            ...(options.all ? ['OWNER'] : []),
            'SIZE',
            'STATUS',
            'WHERE',
            'SNAPSHOTS',
            'LAST SNAPSHOT',
            'LAST USED',
          ],
          disks.map((d) => [
            d.name,
            ...(options.all ? [d.owner] : []),
            `${d.size_gb} GB`,
            diskStatus(d),
            d.cluster
              ? `${d.cluster}${d.zone ? `/${d.zone}` : ''}`
              : d.restore_from
                ? '(from a snapshot)'
                : '-',
            String(d.snapshot_count),
            when(d.last_snapshot_at),
            when(d.last_used_at),
          ]),
        );
      });
    });

  disk
    .command('create')
    .description('A new, empty disk; its volume is made where a reservation first uses it')
    .argument('<name>')
    .option('--size <gb>', 'size in GB (default: the server’s)', sizeGb)
    .action(async (name: string, options: { size?: number }, command: Command) => {
      const { out, api } = contextOf(command);
      const made = await asUsage(
        api().post<DiskDto>('/api/v1/disks', { name, ...(options.size ? { size_gb: options.size } : {}) }),
      );
      out.data(made, () =>
        out.line(
          `Disk ${made.name} (${made.size_gb} GB) created. Use it: gpu-dev reserve … --disk ${made.name}`,
        ),
      );
    });

  disk
    .command('delete')
    .description('Delete a disk (its data is kept for the server’s grace period, then purged)')
    .argument('<name>')
    .option('-y, --yes', 'do not ask')
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      const { out, api } = contextOf(command);
      if (!options.yes) {
        if (!process.stdin.isTTY) {
          throw usage('Deleting a disk needs -y when not run from a terminal');
        }
        if (!(await confirm(`Delete disk ${name}?`))) {
          throw new CliError('Nothing deleted', ExitCode.Failure);
        }
      }
      const deleted = await api().delete<DiskDto>(path(name));
      out.data(deleted, () =>
        out.line(`Disk ${name} deleted; its data is kept until ${when(deleted.purge_after)}.`),
      );
    });

  disk
    .command('undelete')
    .description('A deleted disk back, during its grace period')
    .argument('<name>')
    .action(async (name: string, _options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const back = await asUsage(api().post<DiskDto>(path(name, '/undelete')));
      out.data(back, () => out.line(`Disk ${back.name} is back (${diskStatus(back)}).`));
    });

  disk
    .command('rename')
    .description('Give a disk another name')
    .argument('<name>')
    .argument('<new-name>')
    .action(async (name: string, newName: string, _options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const renamed = await asUsage(api().post<DiskDto>(path(name, '/rename'), { new_name: newName }));
      out.data(renamed, () => out.line(`Disk ${name} is now ${renamed.name}.`));
    });

  disk
    .command('snapshot')
    .description('Snapshot a disk now (it may be in use); waits until ready unless --no-wait')
    .argument('<name>')
    .option('--no-wait', 'return as soon as it is asked for')
    .action(async (name: string, options: { wait: boolean }, command: Command) => {
      const context = contextOf(command);
      const asked = await context.api().post<SnapshotDto>(path(name, '/snapshots'));
      const snapshot = options.wait ? await untilSnapshotSettles(context, name, asked.id) : asked;
      context.out.data(snapshot, () =>
        context.out.line(`Snapshot ${snapshot.id.slice(0, 8)} of ${name}: ${snapshotStatus(snapshot)}`),
      );
      if (snapshot.status === 'failed') {
        throw new CliError(`Snapshot failed: ${snapshot.error ?? 'unknown'}`, ExitCode.Failure);
      }
    });

  disk
    .command('snapshots')
    .description('A disk’s snapshots, newest first')
    .argument('<name>')
    .action(async (name: string, _options: object, command: Command) => {
      const { out, api } = contextOf(command);
      const snapshots = await snapshotsOf(api(), name);
      out.data(snapshots, () =>
        out.table(
          ['ID', 'STATUS', 'REASON', 'SIZE', 'WHERE', 'TAKEN', 'READY'],
          snapshots.map((s) => [
            s.id.slice(0, 8),
            snapshotStatus(s),
            s.reason,
            s.size_gb ? `${s.size_gb} GB` : '-',
            s.cluster ?? '-',
            when(s.created_at),
            when(s.ready_at),
          ]),
        ),
      );
    });

  disk
    .command('restore')
    .description('A disk back to one of its snapshots, or (--as) a new disk from it')
    .argument('<name>')
    .argument('<snapshot>', 'snapshot id or its first characters (gpu-dev disk snapshots <name>)')
    .option('--as <new-name>', 'restore into a new disk of this name instead')
    .action(async (name: string, snapshot: string, options: { as?: string }, command: Command) => {
      const { out, api } = contextOf(command);
      const id = await snapshotId(api(), name, snapshot);
      const restored = await asUsage(
        api().post<DiskDto>(path(name, '/restore'), {
          snapshot_id: id,
          ...(options.as ? { new_name: options.as } : {}),
        }),
      );
      out.data(restored, () =>
        out.line(
          `Disk ${restored.name} will start from snapshot ${id.slice(0, 8)} when a reservation next uses it.`,
        ),
      );
    });
}

async function snapshotsOf(api: OdcApi, disk: string): Promise<SnapshotDto[]> {
  return (await api.get<SnapshotListDto>(path(disk, '/snapshots'))).items;
}

async function snapshotId(api: OdcApi, disk: string, prefix: string): Promise<string> {
  const matching = (await snapshotsOf(api, disk)).filter((s) => s.id.startsWith(prefix));
  const [snapshot] = matching;
  if (!snapshot || matching.length > 1) {
    throw usage(
      matching.length === 0
        ? `Disk ${disk} has no snapshot ${prefix} (gpu-dev disk snapshots ${disk})`
        : `Which one? ${matching.map((s) => s.id).join(', ')}`,
    );
  }
  return snapshot.id;
}

async function untilSnapshotSettles(context: Context, disk: string, id: string): Promise<SnapshotDto> {
  for (;;) {
    const found = (await snapshotsOf(context.api(), disk)).find((s) => s.id === id);
    if (!found || found.status !== 'pending') {
      return found ?? (await Promise.reject(new CliError(`Snapshot ${id} is gone`, ExitCode.Failure)));
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The server refusing what was typed (a bad name, a name taken) is a usage error: exit 2. */
async function asUsage<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof CliError && ['validation_failed', 'disk_name_taken'].includes(error.code ?? '')) {
      throw new CliError(error.message, ExitCode.Usage, error.code);
    }
    throw error;
  }
}
