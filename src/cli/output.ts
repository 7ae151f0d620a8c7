/**
 * How the CLI prints: tables and colours for people (colours off when stdout is not a terminal or
 * NO_COLOR is set: picocolors decides), one JSON document for scripts (`--json`).
 */
import Table from 'cli-table3';
import { stripVTControlCharacters } from 'node:util';
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
  ending: colors.magenta,
  failed: colors.red,
};

export function status(value: string): string {
  return (STATUS_COLORS[value] ?? ((text: string) => text))(value);
}

/**
 * How many terminal rows `text` takes at `width` columns. A width that is unknown or not positive
 * (some CI terminals report 0 columns) counts a row per line: dividing by it would make every line
 * infinitely tall.
 */
export function rowsOf(text: string, width: number | undefined): number {
  const columns = width !== undefined && width > 0 ? width : Number.POSITIVE_INFINITY;
  return (
    text
      .split('\n')
      // Colours and other escape sequences take no columns.
      .reduce(
        (rows, line) => rows + Math.max(1, Math.ceil(stripVTControlCharacters(line).length / columns)),
        0,
      )
  );
}

/**
 * What replaces a progress line drawn before (`previousRows` tall) with `text`: back to the start
 * of the old one in one cursor move, then clear to the end of the screen and write. Its size does
 * not grow with the rows, so no width makes it loop or flood.
 */
export function renderProgress(
  previousRows: number,
  text: string,
  width: number | undefined,
): { output: string; rows: number } {
  const up = previousRows > 1 ? `\x1b[${previousRows - 1}A` : '';
  return { output: `\r${up}\x1b[0J${text}`, rows: rowsOf(text, width) };
}

const PLAIN = process.platform === 'win32'; // its older consoles lack these glyphs
const FRAMES = PLAIN ? ['-', '\\', '|', '/'] : ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARKS = PLAIN ? { ok: '√', failed: '×' } : { ok: '✔', failed: '✖' };
const FRAME_MS = 80;

/** A line that tells how a wait goes, redrawn in place on a terminal with a spinner before it. */
export interface ProgressLine {
  update(text: string): void;
  /** Ends it with a mark (✔ or ✖) and `text` on a line of its own. */
  done(succeeded: boolean, text: string): void;
  /** Ends it, clearing it (nothing once done). */
  stop(): void;
}

export function progressLine(
  stream: { write(text: string): unknown; columns?: number },
  first: string,
): ProgressLine {
  let text = first;
  let frame = 0;
  let rows = 0;
  const draw = (line: string) => {
    const rendered = renderProgress(rows, line, stream.columns);
    stream.write(rendered.output);
    rows = rendered.rows;
  };
  const spin = () => {
    draw(`${colors.yellow(FRAMES[frame % FRAMES.length])} ${text}`);
    frame += 1;
  };
  const timer = setInterval(spin, FRAME_MS);
  timer.unref();
  spin();
  let finished = false;
  const finish = (last: string) => {
    if (!finished) {
      finished = true;
      clearInterval(timer);
      draw(last);
    }
  };
  return {
    update(next) {
      text = next;
      if (!finished) {
        spin();
      }
    },
    done: (succeeded, last) =>
      finish(`${succeeded ? colors.green(MARKS.ok) : colors.red(MARKS.failed)} ${last}\n`),
    stop: () => finish(''),
  };
}
