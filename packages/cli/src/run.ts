// The `meterkit` program as a function: parse, open the target, run the command, close, return the exit code.
import { parseCliArgs, USAGE } from './args.js';
import { type Output, runCommand } from './commands.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { remoteTarget } from './remote-target.js';
import { storeTarget } from './store-target.js';
import type { OpsTarget } from './target.js';

/** Runs `meterkit` with `argv` (without the node and script paths). Never throws; returns the exit code. */
export async function runCli(
  argv: readonly string[],
  out: Output = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExitCodeValue> {
  let target: OpsTarget | undefined;
  try {
    const args = parseCliArgs(argv, env);
    if (args.command === 'help') {
      out.stdout(`${USAGE}\n`);
      return ExitCode.ok;
    }
    target = args.target?.kind === 'url' ? remoteTarget(args) : await storeTarget(args);
    return await runCommand(target, args, out);
  } catch (error) {
    if (error instanceof CliError) {
      out.stderr(`meterkit: ${error.message}\n`);
      if (error.exitCode === ExitCode.usage)
        out.stderr('run `meterkit --help` for the commands and options\n');
      return error.exitCode;
    }
    out.stderr(`meterkit: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  } finally {
    await target?.close().catch(() => undefined);
  }
}
