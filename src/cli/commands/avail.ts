/** avail: what can be reserved now, and how long the queues are. */
import type { Command } from 'commander';
import type { AvailabilityDto, GpuTypeAvailabilityDto } from '../../clusters/dto/availability.dto';
import type { QueueDto } from '../../reservations/dto/queue.dto';
import { contextOf, usage, type Context } from '../context';
import { colors, duration } from '../output';

export interface AvailRow extends GpuTypeAvailabilityDto {
  /** Seconds until the last one queued is expected to start (what a new request waits at least). */
  queue_wait_seconds?: number;
}

export function registerAvailCommand(program: Command): void {
  program
    .command('avail')
    .description('GPUs free per type: on one node at most, in all, queued, and the wait')
    .option('--watch', 'refresh until Ctrl-C')
    .option('--interval <seconds>', 'refresh period with --watch', '5')
    .action(async (options: { watch?: boolean; interval: string }, command: Command) => {
      const context = contextOf(command);
      const interval = Number(options.interval);
      if (!Number.isFinite(interval) || interval < 1) {
        throw usage(`--interval must be at least 1 second, not ${options.interval}`);
      }
      for (;;) {
        const rows = await availability(context);
        if (options.watch && process.stdout.isTTY && !context.out.json) {
          process.stdout.write('\x1b[2J\x1b[H');
        }
        context.out.data(rows, () => printAvailability(context, rows));
        if (!options.watch) {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, interval * 1000));
      }
    });
}

async function availability(context: Context): Promise<AvailRow[]> {
  const api = context.api();
  const [available, queue] = await Promise.all([
    api.get<AvailabilityDto>('/api/v1/availability'),
    api.get<QueueDto>('/api/v1/queue'),
  ]);
  const waits = new Map(queue.gpu_types.map((q) => [q.gpu_type, q.longest_wait_seconds ?? 0]));
  return available.gpu_types.map((type) => ({
    ...type,
    ...(waits.has(type.gpu_type) ? { queue_wait_seconds: waits.get(type.gpu_type) } : {}),
  }));
}

function printAvailability(context: Context, rows: AvailRow[]): void {
  if (rows.length === 0) {
    context.out.line('No GPUs registered yet.');
    return;
  }
  // Green: a whole node is free; yellow: some GPUs are; red: none.
  const paint = (row: AvailRow) =>
    row.full_nodes_free > 0 ? colors.green : row.free_gpus > 0 ? colors.yellow : colors.red;
  context.out.table(
    ['TYPE', 'FREE', 'MAX ON ONE NODE', 'TOTAL', 'QUEUED', 'WAIT'],
    rows.map((row) => [
      paint(row)(row.gpu_type),
      paint(row)(String(row.free_gpus)),
      row.max_reservable,
      row.total_gpus,
      row.queued,
      row.queued > 0 && row.queue_wait_seconds !== undefined
        ? `~${duration(row.queue_wait_seconds)}`
        : row.max_reservable > 0
          ? 'none'
          : '-',
    ]),
  );
}
