/** Questions on the terminal (or lines from standard input when it is not one). */
import { createInterface } from 'node:readline/promises';
import { CliError, ExitCode } from './errors';

export async function ask(question: string): Promise<string> {
  const lines = createInterface({
    input: process.stdin,
    output: process.stderr,
    terminal: process.stdin.isTTY,
  });
  try {
    return await lines.question(question);
  } catch {
    throw new CliError('No answer (standard input closed)', ExitCode.Usage);
  } finally {
    lines.close();
  }
}

/** Like ask, without echoing what is typed (the terminal in raw mode). */
export async function askSecret(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    return ask(''); // piped: nothing to hide, and no prompt in the way
  }
  process.stderr.write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  let value = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') {
            input.off('data', onData);
            resolve(value);
            return;
          }
          if (char === '\u0003') {
            input.off('data', onData);
            reject(new CliError('Cancelled', ExitCode.Usage));
            return;
          }
          value = char === '\u007f' ? value.slice(0, -1) : value + char;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    process.stderr.write('\n');
  }
}

export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test((await ask(`${question} [y/N] `)).trim());
}
