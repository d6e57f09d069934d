/** Entry point: start, or exit with status 1 when the container must not run (AWS's rule for paid containers). */
import { installShutdownHooks } from '@meterkit/express';
import { readConfig } from './config.js';
import { startContainer } from './server.js';

const log = (line: string) => console.log(`[container] ${line}`);

let running: Awaited<ReturnType<typeof startContainer>>;
try {
  running = await startContainer(readConfig(), log);
} catch (error) {
  console.error(`[container] not starting: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
log(`listening on ${running.url}`);
log(`try: curl -X POST ${running.url}/v1/jobs`);

installShutdownHooks(running.server, running.metering, {
  timeoutMillis: 20_000,
  afterShutdown: async (report, signal) => {
    log(`${signal}: drained${report === undefined ? '' : ` (${report.accepted} record(s) accepted)`}`);
    await running.emulator?.close();
  },
});
