/** The CLI's exit codes, as documented: scripts rely on them. */
export enum ExitCode {
  Ok = 0,
  /** The server refused or failed, or the operation did not succeed. */
  Failure = 1,
  /** The command line was wrong. */
  Usage = 2,
  /** No API key, or the server does not accept it. */
  NotAuthenticated = 3,
}

/** A failure the CLI reports in one line and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The server's machine-readable code, when it answered with one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export function notAuthenticated(why: string): CliError {
  return new CliError(`${why}: run gpu-dev login`, ExitCode.NotAuthenticated, 'unauthenticated');
}
