/**
 * How the CLI prints: tables and colours for people (colours off when stdout is not a terminal or
 * NO_COLOR is set: picocolors decides), one JSON document for scripts (`--json`).
 */
import Table from 'cli-table3';
import colors from 'picocolors';

export { colors };

export interface Output {
  json: boolean;
  readonly line: (text?: string) => void;
  /** Data: as JSON with --json, else as the human rendering. */
  readonly data: (value: unknown, human: () => void) => void;
  readonly table: (head: string[], rows: (string | number)[][]) => void;
}

export function outputFor(
  json: boolean,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Output {
  return {
    json,
    line: (text = '') => write(`${text}\n`),
    data(value, human) {
      if (json) {
        write(`${JSON.stringify(value, null, 2)}\n`);
      } else {
        human();
      }
    },
    table(head, rows) {
      const table = new Table({
        head: head.map((h) => colors.bold(h)),
        style: { head: [], border: [] },
        chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
      });
      table.push(...rows.map((row) => row.map(String)));
      write(`${table.toString()}\n`);
    },
  };
}

/** "3 h", "45 min", "1 h 30 min". */
export function duration(seconds: number): string {
  const minutes = Math.max(0, Math.round(seconds / 60));
  if (minutes < 60) {
    return `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** A timestamp in the local time zone, to the minute. */
export function when(iso: string | undefined): string {
  if (!iso) {
    return '-';
  }
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const STATUS_COLORS: Record<string, (text: string) => string> = {
  active: colors.green,
  queued: colors.yellow,
  placing: colors.cyan,
  provisioning: colors.cyan,
  expiring: colors.magenta,
  failed: colors.red,
};

export function status(value: string): string {
  return (STATUS_COLORS[value] ?? ((text: string) => text))(value);
}
