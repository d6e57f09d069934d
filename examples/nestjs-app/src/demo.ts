/**
 * The example end to end: starts the app against the in-process emulator, serves traffic for every customer over
 * HTTP, shuts down (the memory store seals and sends the open hour), and checks the emulator billed exactly what was
 * served. Exits 1 when it did not.
 *
 * It picks the memory store on purpose: the emulator lives in this process, so the bill can only be checked if the
 * open hour is sent before exit. The default SQLite store would keep it for the next start instead.
 */
import { billedByCustomer, printBilling } from './billing-report.js';
import { startApp } from './bootstrap.js';
import { readConfig } from './config.js';

const log = (line: string) => console.log(`[demo] ${line}`);
log(
  'this demo uses the memory store (store: "memory"), so the open hour is sent at shutdown and the bill can be checked before exit; ' +
    'the default SQLite store would keep the open hour for the next start instead',
);
const config = { ...readConfig(), port: 0, store: 'memory' as const, useEmulator: true };
const running = await startApp(config, log);
const { url, customers, emulator } = running;
if (emulator === undefined) throw new Error('the demo runs against the in-process emulator');

/** What the app served successfully, per customer name and dimension: what must be billed. */
const served = new Map<string, number>();
function serve(name: string, dimension: string, quantity: number): void {
  const key = `${name}\n${dimension}`;
  served.set(key, (served.get(key) ?? 0) + quantity);
}

async function call(
  apiKey: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; bytes: number }> {
  const response = await fetch(`${url}${path}`, {
    ...init,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json', ...init.headers },
  });
  const bytes = (await response.arrayBuffer()).byteLength;
  return { status: response.status, bytes };
}

const traffic: Record<string, { forecasts: number; reports: number; exports: number[] }> = {
  'demo-key-acme': { forecasts: 12, reports: 3, exports: [500] },
  'demo-key-globex': { forecasts: 5, reports: 1, exports: [2_000, 50] },
  'demo-key-initech': { forecasts: 7, reports: 0, exports: [10] },
};
for (const [apiKey, plan] of Object.entries(traffic)) {
  const name = customers.get(apiKey)?.name as string;
  for (let i = 0; i < plan.forecasts; i++) {
    const { status } = await call(
      apiKey,
      `/v1/forecast?city=${encodeURIComponent(['Paris', 'Lyon', 'Nice'][i % 3] as string)}`,
    );
    if (status === 200) serve(name, 'api_calls', 1);
  }
  for (let i = 0; i < plan.reports; i++) {
    const { status } = await call(apiKey, '/v1/reports', {
      method: 'POST',
      body: JSON.stringify({ title: `R${i}` }),
    });
    if (status === 201) {
      serve(name, 'api_calls', 1);
      serve(name, 'reports', 1);
    }
  }
  for (const rows of plan.exports) {
    const { status, bytes } = await call(apiKey, `/v1/export?rows=${rows}`);
    if (status === 200) serve(name, 'export_kb', Math.ceil(bytes / 1024));
  }
  // Not billed: a client error, and an unknown key.
  if ((await call(apiKey, '/v1/forecast')).status !== 400) throw new Error('expected 400 without city');
}
if ((await call('not-a-key', '/v1/forecast?city=Paris')).status !== 401)
  throw new Error('expected 401 for a bad key');

// A new buyer's whole subscription: register → use → unsubscribe-pending → final bill → refused.
let lifecycleProblems = 0;
function check(ok: boolean, line: string): void {
  if (!ok) lifecycleProblems += 1;
  log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
}
// The buyer subscribes on AWS Marketplace and their browser posts the registration token to our fulfillment URL.
const issued = emulator.control.issueToken({ productCode: config.productCode, subscribe: false });
const registration = await fetch(`${url}/marketplace/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ 'x-amzn-marketplace-token': issued.token }).toString(),
});
const page = await registration.text();
const newKey = /<code id="api-key">([^<]+)<\/code>/.exec(page)?.[1];
check(
  registration.status === 200 && newKey !== undefined,
  `register: POST /marketplace/register answered ${registration.status} with an API key`,
);
if (newKey === undefined || issued.licenseArn === undefined)
  throw new Error('registration did not give an API key');
const newName = customers.get(newKey)?.name as string;
const buyerIdentity = {
  productCode: config.productCode,
  licenseArn: issued.licenseArn,
  customerAWSAccountId: issued.customerAWSAccountId,
};
async function buyerState(state: 'subscribed' | 'unsubscribe-pending' | 'unsubscribed'): Promise<void> {
  emulator?.control.putCustomer({ ...buyerIdentity, state });
  await emulator?.notificationsSettled();
}
for (let i = 0; i < 2; i++)
  if ((await call(newKey, '/v1/forecast?city=Lille')).status === 200) serve(newName, 'api_calls', 1);
log('2 calls before subscribe-success: served, held (billed once AWS confirms within the hour)');
await buyerState('subscribed');
for (let i = 0; i < 3; i++)
  if ((await call(newKey, '/v1/forecast?city=Lille')).status === 200) serve(newName, 'api_calls', 1);
log('subscribe-success arrived (signed SNS from the emulator); 3 more calls');
await buyerState('unsubscribe-pending');
const finalBill = emulator.ledger.totalQuantity({ licenseArn: issued.licenseArn, dimension: 'api_calls' });
check(
  finalBill === 5,
  `unsubscribe-pending: the open hour was sealed and billed at once: ${finalBill} api_calls (expected 5)`,
);
await buyerState('unsubscribed');
const refused = (await call(newKey, '/v1/forecast?city=Lille')).status;
check(
  refused === 402,
  `unsubscribe-success: the next call is refused with ${refused} (expected 402) and not billed`,
);
const history = (await running.registry.findByAccount(newKey))?.history.map((change) => change.state);
log(`the registry's history of the buyer: ${history?.join(' → ')}`);

log(`served ${[...served.values()].reduce((a, b) => a + b, 0)} billable units; shutting down`);

await running.app.close();
printBilling(emulator, customers, log);
await emulator.close();

const billed = new Map<string, number>();
for (const row of billedByCustomer(emulator, customers)) {
  const key = `${row.customer}\n${row.dimension}`;
  billed.set(key, (billed.get(key) ?? 0) + row.quantity);
}
const keys = new Set([...served.keys(), ...billed.keys()]);
let mismatches = 0;
for (const key of [...keys].sort()) {
  const [name, dimension] = key.split('\n');
  const want = served.get(key) ?? 0;
  const got = billed.get(key) ?? 0;
  if (want !== got) mismatches += 1;
  log(
    `${want === got ? 'ok  ' : 'DIFF'} ${name?.padEnd(26)} ${dimension?.padEnd(10)} served ${want}, billed ${got}`,
  );
}
log(mismatches === 0 ? 'billed exactly what was served' : `${mismatches} mismatch(es)`);
process.exit(mismatches === 0 && lifecycleProblems === 0 ? 0 : 1);
