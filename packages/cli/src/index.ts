// `@meterkit/cli`: the `meterkit` operator command, also callable as a function.
export { type CliArgs, type Command, parseCliArgs, type Target, USAGE } from './args.js';
export type { Output } from './commands.js';
export { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
export { runCli } from './run.js';
