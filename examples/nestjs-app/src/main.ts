/** Runs the Nest example: starts it, prints how to call it, and on Ctrl-C drains, prints the bill and exits. */
import { exitCodeFor } from '@meterkit/core';
import { MeteringService } from '@meterkit/nestjs';
import { printBilling } from './billing-report.js';
import { startApp } from './bootstrap.js';
import { readConfig } from './config.js';

const log = (line: string) => console.log(`[example] ${line}`);
const config = readConfig();
const running = await startApp(config, log);
const { url, customers } = running;
const [acme, globex, initech] = [...customers.keys()];

log(`listening on ${url}`);
log('try:');
log(`  curl ${url}/health`);
log(`  curl -H 'x-api-key: ${acme}' '${url}/v1/forecast?city=Paris'`);
log(
  `  curl -H 'x-api-key: ${globex}' -H 'content-type: application/json' -d '{"title":"Q3"}' ${url}/v1/reports`,
);
log(`  curl -H 'x-api-key: ${initech}' '${url}/v1/export?rows=500'`);
log(
  config.store === 'memory'
    ? 'stop with Ctrl-C: the open hour is sealed and sent before exit (memory store: a restart within the same UTC hour loses the later usage of that hour)'
    : `stop with Ctrl-C: due records are sent; the open hour stays in the ${config.store} store and is billed after it closes, by this or the next start`,
);

// Our own signal handling instead of app.enableShutdownHooks(): after app.close() (stop accepting, close the server,
// drain metering) we still want to print the bill, then exit: with code 3 when usage was left unbilled and lost.
let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: draining`);
  try {
    const engine = running.app.get(MeteringService).engine;
    await running.app.close();
    // shutdown() is idempotent: this is the report of the drain app.close() just ran.
    const report = await engine.shutdown();
    if (running.emulator !== undefined) {
      printBilling(running.emulator, customers, log);
      await running.emulator.close();
    }
    process.exit(exitCodeFor(report) ?? 0);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
process.once('SIGTERM', (signal) => void stop(signal));
process.once('SIGINT', (signal) => void stop(signal));
