#!/usr/bin/env node
/**
 * `meterkit-emulator`: starts the emulator, prints the endpoint and the variable to export, and shuts
 * down cleanly on SIGINT / SIGTERM.
 */
import { parseCliArgs, USAGE } from './cli-args.js';
import { CONTROL_PREFIX } from './control-api.js';
import { startEmulator } from './emulator.js';

async function main(): Promise<void> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`meterkit-emulator: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const emulator = await startEmulator(args.options);
  const mode = args.options.strict ? 'strict' : 'permissive';
  process.stdout.write(
    [
      `meterkit-emulator listening on ${emulator.endpoint} (${mode} mode)`,
      'Point AWS SDK clients at it with:',
      `  export AWS_ENDPOINT_URL_MARKETPLACE_METERING=${emulator.endpoint}`,
      `Control API: ${emulator.endpoint}${CONTROL_PREFIX}/health`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`meterkit-emulator: ${signal}, shutting down\n`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`meterkit-emulator: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`meterkit-emulator: ${(error as Error).message}\n`);
  process.exit(1);
});
