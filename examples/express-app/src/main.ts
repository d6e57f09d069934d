/** Runs the Express example: starts it, prints how to call it, and drains and prints the bill on Ctrl-C. */
import { installShutdownHooks } from '@meterkit/express';
import { billFromEmulator, printBill } from './billing-report.js';
import { readConfig } from './config.js';
import { startExample } from './server.js';

const log = (line: string) => console.log(`[example] ${line}`);
const config = readConfig();
const running = await startExample(config, log);
const { url, customers, backend } = running;
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
    ? 'stop with Ctrl-C: requests in flight finish, then the open hour is sealed and sent before exit (memory store: a restart within the same UTC hour loses the later usage of that hour)'
    : `stop with Ctrl-C: requests in flight finish and due records are sent; the open hour stays in the ${config.store} store and is billed after it closes, by this or the next start`,
);

installShutdownHooks(running.server, running.metering, {
  timeoutMillis: 20_000,
  afterShutdown: async (report, signal) => {
    log(`${signal}: drained${report === undefined ? '' : ` (${report.accepted} record(s) accepted)`}`);
    if (backend.emulator !== undefined) {
      printBill(billFromEmulator(backend.emulator, customers), log);
      await backend.emulator.close();
    }
  },
});
