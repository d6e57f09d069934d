// What `meterkit` exits with; scripts may rely on these numbers.

/** Exit codes of the `meterkit` command. Documented in the package README. */
export const ExitCode = {
  /** Done, and nothing needs attention. */
  ok: 0,
  /** An unexpected error (a bug, or a store that failed mid-command). */
  failure: 1,
  /** The command line is wrong (unknown command or option, missing target). */
  usage: 2,
  /** The store or the app could not be reached or opened. */
  unreachable: 3,
  /** The app's admin endpoint refused the token. */
  unauthorized: 4,
  /** `status`: dead letters wait, or the oldest pending record nears the end of the service window. */
  attention: 5,
  /** `dead-letters requeue`: some dead letters cannot be replayed (each is listed with the reason). */
  refused: 6,
  /** `flush`: records are still pending afterwards (the sink failed or refused; they stay queued). */
  pending: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a given exit code and a message for stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
