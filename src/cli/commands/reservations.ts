/** reserve, list, show, cancel, extend, edit, connect, ssh-config. */
import { Option, type Command } from 'commander';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type {
  ReservationDto as Reservation,
  ReservationPageDto,
} from '../../reservations/dto/reservation.dto';
import type { MeDto } from '../../auth/dto/api-key.dto';
import type { OdcApi } from '../api';
import { pollIntervalMs } from '../config';
import { contextOf, usage, type Context } from '../context';
import { CliError, ExitCode } from '../errors';
import { colors, duration, progressLine, status, when } from '../output';
import { confirm } from '../prompt';
import {
  hostAlias,
  hostBlock,
  installSshConfig,
  parseSshCommand,
  sshArguments,
  sshConfigPaths,
} from '../ssh';

const LIVE = ['queued', 'placing', 'provisioning', 'active', 'ending'];
const ENDED = ['expired', 'cancelled', 'failed'];
const STATUSES = [...LIVE, ...ENDED];
const POLL_MS = pollIntervalMs();

const positiveInteger = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw usage(`${name} must be a whole number from 1, not ${value}`);
  }
  return Number(value);
};

const positiveHours = (value: string) => {
  const hours = Number(value);
  if (!Number.isFinite(hours) || hours <= 0) {
    throw usage(`--hours must be a positive number, not ${value}`);
  }
  return hours;
};

const nodeLabel = (value: string, previous: Record<string, string> = {}) => {
  const match = /^([^=\s]+)=(\S*)$/.exec(value);
  if (!match) {
    throw usage(`--node-label takes key=value, not ${value}`);
  }
  return { ...previous, [match[1] ?? '']: match[2] ?? '' };
};

/** One function per command: each defines its options, and its action is a named function below. */
export function registerReservationCommands(program: Command): void {
  registerReserve(program);
  registerList(program);
  registerShow(program);
  registerCancel(program);
  registerExtend(program);
  registerEdit(program);
  registerConnect(program);
  registerSshConfig(program);
}

function registerReserve(program: Command): void {
  program
    .command('reserve')
    .description('Reserve GPUs; waits, showing the queue position and estimated wait, until it is ready')
    .option('-t, --gpu-type <type>', 'GPU type (gpu-dev avail lists them), e.g. h100 (required)')
    .option('-g, --gpus <n>', 'GPUs on one node (required)', positiveInteger('--gpus'))
    .option('-h, --hours <hours>', 'how long, from when it is ready, e.g. 0.5 or 8 (required)', positiveHours)
    .option('-n, --name <name>', 'a name to find it by')
    .option('--jupyter', 'Jupyter Lab too')
    .option('--image <image>', 'container image (default: the cluster profile’s)')
    .option('-l, --node-label <key=value>', 'only nodes with this label (repeatable)', nodeLabel)
    .option('--disk <name>', 'one of your disks at /home/dev (gpu-dev disk list); snapshotted at the end')
    .option('--no-persist', 'with --disk: no snapshot at the end')
    .option('--no-wait', 'return as soon as it is queued')
    .helpOption('--help', 'display help for command') // -h is --hours here
    .action((options: Partial<ReserveOptions>, command: Command) => reserve(contextOf(command), options));
}

function registerList(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .description('Your reservations that have not ended (or those with --status)')
    .addOption(new Option('--status <statuses>', 'comma list of statuses, or "all"'))
    .option('--all', 'everyone’s (admins)')
    .option('--watch', 'refresh until Ctrl-C')
    .action((options: ListOptions, command: Command) => list(contextOf(command), options));
}

interface ListOptions {
  status?: string;
  all?: boolean;
  watch?: boolean;
}

async function list(context: Context, options: ListOptions): Promise<void> {
  const statuses = statusFilter(options.status);
  const render = async () => {
    const items = await listReservations(context.api(), statuses, options.all === true);
    context.out.data(items, () => printList(context, items));
  };
  if (!options.watch) {
    await render();
    return;
  }
  for (;;) {
    if (process.stdout.isTTY && !context.out.json) {
      process.stdout.write('\x1b[2J\x1b[H');
    }
    await render();
    await sleep(POLL_MS);
  }
}

function registerShow(program: Command): void {
  program
    .command('show')
    .description('One reservation: details and timeline (the only one when no id is given)')
    .argument('[id]', 'id, its first characters, or name')
    .action((id: string | undefined, _options: object, command: Command) => show(contextOf(command), id));
}

async function show(context: Context, id: string | undefined): Promise<void> {
  const reservation = await resolveReservation(context.api(), id, STATUSES);
  context.out.data(reservation, () => printDetails(context, reservation));
}

function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('Cancel a reservation (queued ones go at once; running ones are torn down)')
    .argument('[id]', 'id, its first characters, or name')
    .option('--all', 'all of yours that have not ended')
    .option('-y, --yes', 'do not ask')
    .action((id: string | undefined, options: CancelOptions, command: Command) =>
      cancel(contextOf(command), id, options),
    );
}

interface CancelOptions {
  all?: boolean;
  yes?: boolean;
}

async function cancel(context: Context, id: string | undefined, options: CancelOptions): Promise<void> {
  const api = context.api();
  const targets = options.all
    ? await listReservations(
        api,
        LIVE.filter((s) => s !== 'ending'),
        false,
      )
    : [await resolveReservation(api, id, LIVE)];
  if (targets.length === 0) {
    context.out.data([], () => context.out.line('Nothing to cancel.'));
    return;
  }
  if (!options.yes && (options.all || process.stdin.isTTY)) {
    if (!process.stdin.isTTY) {
      throw usage('Cancelling all needs -y when not run from a terminal');
    }
    const what = targets.map((r) => label(r)).join(', ');
    if (!(await confirm(`Cancel ${what}?`))) {
      throw new CliError('Nothing cancelled', ExitCode.Failure);
    }
  }
  const cancelled: Reservation[] = [];
  for (const target of targets) {
    cancelled.push(await api.post<Reservation>(`/api/v1/reservations/${target.id}/cancel`));
  }
  context.out.data(options.all ? cancelled : cancelled[0], () => {
    for (const r of cancelled) {
      context.out.line(
        `${label(r)}: ${statusText(r)}${r.status === 'ending' ? ', its environment being deleted' : ''}`,
      );
    }
  });
}

function registerExtend(program: Command): void {
  program
    .command('extend')
    .description('More time (within the lifetime limit)')
    .argument('[id]', 'id, its first characters, or name')
    .option('-h, --hours <hours>', 'hours to add (required)', positiveHours)
    .helpOption('--help', 'display help for command')
    .action((id: string | undefined, options: { hours?: number }, command: Command) =>
      extend(contextOf(command), id, options.hours),
    );
}

async function extend(context: Context, id: string | undefined, hours: number | undefined): Promise<void> {
  if (hours === undefined) {
    throw usage('extend needs --hours');
  }
  const api = context.api();
  const target = await resolveReservation(api, id, LIVE);
  const extended = await api.post<Reservation>(`/api/v1/reservations/${target.id}/extend`, { hours });
  context.out.data(extended, () =>
    context.out.line(
      `${label(extended)}: ${extended.expires_at ? `expires ${when(extended.expires_at)}` : `${extended.hours + extended.extended_hours} h once ready`}`,
    ),
  );
}

function registerEdit(program: Command): void {
  program
    .command('edit')
    .description('Change a reservation: Jupyter on or off, share SSH access')
    .argument('[id]', 'id, its first characters, or name')
    .option('--enable-jupyter', 'turn Jupyter on')
    .option('--disable-jupyter', 'turn Jupyter off')
    .option('--add-user <username>', 'give another user SSH access')
    .action((id: string | undefined, options: EditOptions, command: Command) =>
      edit(contextOf(command), id, options),
    );
}

interface EditOptions {
  enableJupyter?: boolean;
  disableJupyter?: boolean;
  addUser?: string;
}

async function edit(context: Context, id: string | undefined, options: EditOptions): Promise<void> {
  if (options.enableJupyter && options.disableJupyter) {
    throw usage('--enable-jupyter and --disable-jupyter together');
  }
  if (!options.enableJupyter && !options.disableJupyter && !options.addUser) {
    throw usage('Nothing to change: --enable-jupyter, --disable-jupyter or --add-user');
  }
  const api = context.api();
  let reservation = await resolveReservation(api, id, LIVE);
  if (options.enableJupyter || options.disableJupyter) {
    reservation = await api.post<Reservation>(`/api/v1/reservations/${reservation.id}/jupyter`, {
      enabled: options.enableJupyter === true,
    });
  }
  if (options.addUser) {
    reservation = await api.post<Reservation>(`/api/v1/reservations/${reservation.id}/users`, {
      username: options.addUser,
    });
  }
  context.out.data(reservation, () => printDetails(context, reservation));
}

function registerConnect(program: Command): void {
  program
    .command('connect')
    .description('SSH to a reservation (the only active one when no id is given)')
    .argument('[id]', 'id, its first characters, or name')
    .option('--print', 'print the ssh command instead of running it (the same command)')
    .option('-A, --forward-agent', 'bring your SSH agent along (for git); root on the node could use it too')
    .action((id: string | undefined, options: ConnectOptions, command: Command) =>
      connect(contextOf(command), id, options),
    );
}

interface ConnectOptions {
  print?: boolean;
  forwardAgent?: boolean;
}

async function connect(context: Context, id: string | undefined, options: ConnectOptions): Promise<void> {
  const reservation = await resolveReservation(context.api(), id, ['active']);
  if (!reservation.ssh_command) {
    throw new CliError(`${label(reservation)} has no SSH access yet`, ExitCode.Failure);
  }
  const args = sshArguments(parseSshCommand(reservation.ssh_command), { forwardAgent: options.forwardAgent });
  if (reservation.simulated && !options.print) {
    throw new CliError(
      `${label(reservation)} runs on the simulated cluster ${reservation.cluster}: there is no machine at ${reservation.ssh_command.replace(/^ssh /, '')} to connect to (on a real cluster this runs: ssh ${args.join(' ')})`,
      ExitCode.Failure,
      'simulated_cluster',
    );
  }
  if (options.print) {
    context.out.data({ command: ['ssh', ...args] }, () => context.out.line(`ssh ${args.join(' ')}`));
    return;
  }
  const child = spawn('ssh', args, { stdio: 'inherit' });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (error) => reject(new CliError(`Cannot run ssh: ${error.message}`, ExitCode.Failure)));
    child.on('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  process.exitCode = code;
}

function registerSshConfig(program: Command): void {
  program
    .command('ssh-config')
    .description('SSH Host blocks for your active reservations (ssh odc-<name>)')
    .option('--install', 'write them to ~/.ssh/gpu-dev.conf and include it from ~/.ssh/config')
    .action((options: { install?: boolean }, command: Command) =>
      sshConfig(contextOf(command), options.install === true),
    );
}

async function sshConfig(context: Context, install: boolean): Promise<void> {
  const active = (await listReservations(context.api(), ['active'], false)).filter((r) => r.ssh_command);
  const hosts = active.map((r) => ({ alias: hostAlias(r), target: parseSshCommand(r.ssh_command!) }));
  const blocks = hosts.map((h) => hostBlock(h.alias, h.target)).join('\n');
  if (install) {
    const paths = sshConfigPaths();
    const added = installSshConfig(blocks);
    context.out.data({ hosts: hosts.map((h) => h.alias), file: paths.include, include_added: added }, () =>
      context.out.line(
        `${hosts.length} host(s) in ${paths.include}${added ? `; ${paths.main} now includes it` : ''}.`,
      ),
    );
    return;
  }
  context.out.data(hosts, () => process.stdout.write(blocks));
}

/** An environment lets in the owner's SSH keys only: without one, `connect` cannot get in. */
async function warnWithoutSshKey(api: OdcApi): Promise<void> {
  const me = await api.get<MeDto>('/api/v1/me');
  if (me.ssh_keys.length === 0) {
    process.stderr.write(
      `${colors.yellow('warning:')} you have no SSH key on ODC, so this environment will not let you in over SSH: add yours with gpu-dev ssh-keys add\n`,
    );
  }
}

interface ReserveOptions {
  gpuType: string;
  gpus: number;
  hours: number;
  name?: string;
  jupyter?: boolean;
  image?: string;
  nodeLabel?: Record<string, string>;
  disk?: string;
  /** commander's --no-persist: false when given. */
  persist: boolean;
  wait: boolean;
}

async function reserve(context: Context, options: Partial<ReserveOptions>): Promise<void> {
  const missing = [
    options.gpuType === undefined && '--gpu-type',
    options.gpus === undefined && '--gpus',
    options.hours === undefined && '--hours',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw usage(`reserve needs ${missing.join(', ')} (e.g. gpu-dev reserve -t h100 -g 4 -h 8)`);
  }
  if (options.persist === false && options.disk === undefined) {
    throw usage('--no-persist goes with --disk <name>');
  }
  const api = context.api();
  let reservation: Reservation;
  try {
    reservation = await api.post<Reservation>(
      '/api/v1/reservations',
      {
        gpu_type: options.gpuType!,
        gpu_count: options.gpus!,
        hours: options.hours!,
        ...(options.name ? { name: options.name } : {}),
        ...(options.jupyter ? { jupyter: true } : {}),
        ...(options.image ? { image: options.image } : {}),
        ...(options.nodeLabel ? { node_labels: options.nodeLabel } : {}),
        ...(options.disk ? { disk: options.disk } : {}),
        ...(options.persist === false ? { no_persist: true } : {}),
      },
      // A retried request (a dropped connection) cannot make a second reservation.
      { 'idempotency-key': randomUUID() },
    );
  } catch (error) {
    throw asUsageError(error);
  }
  await warnWithoutSshKey(api);
  if (!options.wait) {
    context.out.data(reservation, () => {
      context.out.line(`${label(reservation)}: ${describeWait(reservation)}`);
      context.out.line(`Follow it with: gpu-dev show ${reservation.id.slice(0, 8)}`);
    });
    return;
  }
  const ready = await waitUntilSettled(context, api, reservation);
  context.out.data(ready, () => printReady(context, ready));
  if (ready.status !== 'active') {
    throw new CliError(
      `${label(ready)} ${ready.status}${ready.status_reason ? `: ${ready.status_reason}` : ''}`,
      ExitCode.Failure,
    );
  }
}

/** What the user typed wrong, as the server found it, is a usage error (exit 2). */
function asUsageError(error: unknown): unknown {
  const usageCodes = [
    'validation_failed',
    'unknown_gpu_type',
    'invalid_gpu_count',
    'invalid_duration',
    'bad_request',
    'unknown_disk',
  ];
  return error instanceof CliError && error.code && usageCodes.includes(error.code)
    ? new CliError(
        `${error.message} (see ${error.code === 'unknown_disk' ? 'gpu-dev disk list' : 'gpu-dev avail and gpu-dev reserve --help'})`,
        ExitCode.Usage,
        error.code,
      )
    : error;
}

/**
 * Polls until active or ended, telling each change: on a terminal a spinner line, otherwise a line
 * per change (logs stay readable). Ctrl-C asks whether to cancel it or leave it queued.
 */
async function waitUntilSettled(context: Context, api: OdcApi, first: Reservation): Promise<Reservation> {
  const live = process.stderr.isTTY && !context.out.json;
  const spinner = live ? progressLine(process.stderr, progress(first)) : undefined;
  const say = (text: string) => (spinner ? spinner.update(text) : process.stderr.write(`${text}\n`));
  if (!spinner) {
    say(progress(first));
  }
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.on('SIGINT', onInterrupt);
  try {
    let current = first;
    let shown = progress(first);
    while (!['active', ...ENDED].includes(current.status)) {
      await sleepUnless(POLL_MS, () => interrupted);
      if (interrupted) {
        spinner?.stop();
        return await onCtrlC(context, api, current);
      }
      current = await api.get<Reservation>(`/api/v1/reservations/${current.id}`);
      const next = progress(current);
      if (next !== shown) {
        say(next);
        shown = next;
      }
    }
    spinner?.done(current.status === 'active', progress(current));
    return current;
  } finally {
    spinner?.stop(); // a failed poll leaves no half-drawn line under its error
    process.off('SIGINT', onInterrupt);
  }
}

async function onCtrlC(context: Context, api: OdcApi, current: Reservation): Promise<Reservation> {
  const cancel =
    process.stdin.isTTY && (await confirm(`\nCancel ${label(current)}? (No leaves it ${current.status})`));
  if (cancel) {
    return api.post<Reservation>(`/api/v1/reservations/${current.id}/cancel`);
  }
  context.out.line(`Left ${current.status}: gpu-dev show ${current.id.slice(0, 8)}`);
  process.exit(ExitCode.Ok);
}

function progress(r: Reservation): string {
  switch (r.status) {
    case 'queued':
      return `${label(r)}: ${describeWait(r)}`;
    case 'placing':
      return `${label(r)}: placed on ${r.cluster ?? '?'} (${r.node ?? '?'}), creating it`;
    case 'provisioning':
      return `${label(r)}: starting on ${r.cluster ?? '?'} (${r.node ?? '?'})`;
    case 'active':
      return `${label(r)}: ready`;
    case 'ending':
      return `${label(r)}: ending${r.ending_as ? ` (${r.ending_as})` : ''}${r.status_reason ? `: ${r.status_reason}` : ''}`;
    case 'expired':
    case 'cancelled':
    case 'failed':
      return `${label(r)}: ${r.status}${r.status_reason ? ` (${r.status_reason})` : ''}`;
  }
}

function describeWait(r: Reservation): string {
  if (r.status !== 'queued') {
    return r.status;
  }
  const position =
    r.queue_position !== undefined ? `#${r.queue_position} in the ${r.gpu_type} queue` : 'queued';
  const wait =
    r.estimated_wait_seconds === undefined
      ? 'no estimate yet'
      : r.estimated_wait_seconds === 0
        ? 'starting now'
        : `about ${duration(r.estimated_wait_seconds)} to wait`;
  return `queued, ${position}, ${wait}`;
}

/** Beside an address on a simulated cluster: nothing listens there. */
const SIMULATED_NOTE = '(simulated cluster: nothing listens there)';

function printReady(context: Context, r: Reservation): void {
  const { line } = context.out;
  if (r.status !== 'active') {
    return;
  }
  line(
    `${colors.green('Ready')}: ${r.gpu_count} × ${r.gpu_type} on ${r.cluster} until ${when(r.expires_at)}`,
  );
  if (r.ssh_command) {
    line(
      r.simulated
        ? `  ssh:      ${r.ssh_command}    ${SIMULATED_NOTE}`
        : `  connect:  gpu-dev connect ${r.name ?? r.id.slice(0, 8)}    (or: ${r.ssh_command})`,
    );
  }
  if (r.jupyter_url) {
    line(`  jupyter:  ${r.jupyter_url}`);
  }
}

function printList(context: Context, items: Reservation[]): void {
  if (items.length === 0) {
    context.out.line('No reservations. Make one with: gpu-dev reserve -t <type> -g <gpus> -h <hours>');
    return;
  }
  context.out.table(
    ['ID', 'NAME', 'OWNER', 'GPUS', 'STATUS', 'QUEUE', 'CLUSTER', 'ENDS'],
    items.map((r) => [
      r.id.slice(0, 8),
      r.name ?? '',
      r.owner,
      `${r.gpu_count} × ${r.gpu_type}`,
      statusText(r),
      r.status === 'queued'
        ? `#${r.queue_position ?? '?'}${r.estimated_wait_seconds !== undefined ? ` ~${duration(r.estimated_wait_seconds)}` : ''}`
        : '',
      r.cluster ?? '',
      endText(r),
    ]),
  );
}

function printDetails(context: Context, r: Reservation): void {
  const { line } = context.out;
  line(`${colors.bold(label(r))}  ${statusText(r)}${r.status_reason ? ` (${r.status_reason})` : ''}`);
  line(`  id:        ${r.id}`);
  line(
    `  owner:     ${r.owner}${r.secondary_users.length ? ` (shared with ${r.secondary_users.join(', ')})` : ''}`,
  );
  line(
    `  gpus:      ${r.gpu_count} × ${r.gpu_type}, ${r.hours + r.extended_hours} h${r.extended_hours ? ` (${r.extended_hours} h added)` : ''}`,
  );
  if (r.status === 'queued') {
    line(`  queue:     ${describeWait(r)}`);
  }
  if (r.cluster) {
    line(`  placed:    ${r.cluster}, node ${r.node ?? '?'}`);
  }
  if (r.disk) {
    line(`  disk:      ${r.disk} at /home/dev${r.no_persist ? ' (no snapshot at the end)' : ''}`);
  }
  if (ENDED.includes(r.status)) {
    line(`  ended:     ${when(r.ended_at)}`);
  } else if (r.expires_at && r.status !== 'ending') {
    line(`  expires:   ${when(r.expires_at)}`);
  }
  if (r.ssh_command) {
    line(`  ssh:       ${r.ssh_command}${r.simulated ? `    ${SIMULATED_NOTE}` : ''}`);
  }
  if (r.jupyter_url) {
    line(`  jupyter:   ${r.jupyter_url}`);
  }
  if (r.events?.length) {
    line('  timeline:');
    for (const event of r.events) {
      line(`    ${when(event.at)}  ${event.message}`);
    }
  }
}

/** Its status; an ending one's with how it ends: "ending (cancelled)". */
function statusText(r: Pick<Reservation, 'status' | 'ending_as'>): string {
  return r.status === 'ending' && r.ending_as ? `${status(r.status)} (${r.ending_as})` : status(r.status);
}

/**
 * When it ends: its expiry while it runs; for one that has ended, when it did (its expiry was
 * only the plan, and a cancelled or failed one ended before it).
 */
function endText(r: Pick<Reservation, 'status' | 'expires_at' | 'ended_at'>): string {
  if (ENDED.includes(r.status)) {
    return `ended ${when(r.ended_at)}`;
  }
  if (r.status === 'ending') {
    return 'now';
  }
  return r.expires_at ? when(r.expires_at) : '';
}

function label(r: Pick<Reservation, 'id' | 'name'>): string {
  return r.name ? `${r.name} (${r.id.slice(0, 8)})` : r.id.slice(0, 8);
}

function statusFilter(value: string | undefined): string[] | undefined {
  if (value === undefined) {
    return LIVE;
  }
  if (value === 'all') {
    return undefined;
  }
  const statuses = value.split(',').map((s) => s.trim());
  const unknown = statuses.filter((s) => !STATUSES.includes(s));
  if (unknown.length > 0) {
    throw usage(`Unknown status ${unknown.join(', ')}; one of ${STATUSES.join(', ')} or all`);
  }
  return statuses;
}

export async function listReservations(
  api: OdcApi,
  statuses: string[] | undefined,
  everyone: boolean,
): Promise<Reservation[]> {
  const items: Reservation[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '200' });
    if (statuses) {
      query.set('status', statuses.join(','));
    }
    if (everyone) {
      query.set('user', 'all');
    }
    if (cursor) {
      query.set('cursor', cursor);
    }
    const page = await api.get<ReservationPageDto>(`/api/v1/reservations?${query.toString()}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/**
 * The reservation meant: a full id; else the caller's own with that id prefix or name, among those
 * not over or ending first (a name reused after its reservation ended means the new one); with no
 * id, the only one in `statuses`. Ambiguity is a usage error listing the candidates.
 */
export async function resolveReservation(
  api: OdcApi,
  id: string | undefined,
  statuses: string[],
): Promise<Reservation> {
  if (id && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
    return api.get<Reservation>(`/api/v1/reservations/${id}`);
  }
  const matching = (await listReservations(api, id ? STATUSES : statuses, false)).filter(
    (r) => !id || r.id.startsWith(id.toLowerCase()) || r.name === id,
  );
  const running = matching.filter((r) => LIVE.includes(r.status) && r.status !== 'ending');
  const candidates = running.length > 0 ? running : matching;
  const [only] = candidates;
  if (only && candidates.length === 1) {
    return api.get<Reservation>(`/api/v1/reservations/${only.id}`);
  }
  if (candidates.length === 0) {
    throw new CliError(
      id ? `No reservation of yours matches ${id}` : `No reservation of yours is ${statuses.join(' or ')}`,
      ExitCode.Failure,
      'not_found',
    );
  }
  throw usage(`Which one? ${candidates.map((r) => label(r)).join(', ')}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !stop()) {
    await sleep(Math.min(100, until - Date.now()));
  }
}
