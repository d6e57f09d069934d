// What the Express and Nest app scripts of the process tests share: the clock, the store and sink choices, and a
// stdout protocol of JSON lines the harness reads (`ready`, `log`, `event`). Plain JavaScript: they run on the BUILT
// packages in their own Node process, like an app would.
//
// Environment: PROC_EMULATOR (endpoint), PROC_STORE (default | memory | sqlite; the default store's file comes from
// METERKIT_STORE_PATH), PROC_NOW (epoch ms this process's clock starts at), PROC_SHUTDOWN_MILLIS.

const env = process.env;

/** The harness's stdout protocol: one JSON object per line. */
export function say(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

/** A clock that starts at PROC_NOW and runs at real speed, so a test can put a lifetime in any hour. */
const startReal = Date.now();
const startAt = env.PROC_NOW === undefined ? startReal : Number(env.PROC_NOW);
export const clock = { now: () => startAt + (Date.now() - startReal) };

/** Every log line goes to the harness, with its level. */
export const logger = {
  info: (message, context) => say({ kind: 'log', level: 'info', message, context }),
  warn: (message, context) => say({ kind: 'log', level: 'warn', message, context }),
  error: (message, context) => say({ kind: 'log', level: 'error', message, context }),
};

export const PRODUCT_CODE = 'prod-process-tests';
export const DIMENSIONS = ['api_calls'];

/** The customer of a request. In these apps the header stands for an authenticated session. */
export function customerOf(header) {
  return header === undefined ? undefined : { customerIdentifier: String(header), productCode: PRODUCT_CODE };
}

/** The `store` option: omitted for the adapters' default (SQLite at METERKIT_STORE_PATH). */
export function storeOption() {
  const store = env.PROC_STORE ?? 'default';
  return store === 'default' ? {} : { store };
}

/** Engine options that keep a test to a few seconds: short retries and a short shutdown bound. */
export function engineOptions() {
  return {
    productCode: PRODUCT_CODE,
    dimensions: DIMENSIONS,
    clock,
    logger,
    checkpointMillis: 100,
    dispatchIntervalMillis: 200,
    retryBaseMillis: 100,
    retryMaxMillis: 400,
    exportTimeoutMillis: 1_000,
    shutdownTimeoutMillis: Number(env.PROC_SHUTDOWN_MILLIS ?? 1_500),
    ...storeOption(),
  };
}

/** Events the harness reads (no customer identifiers: quantities and counts only). */
export function reportEvents(events) {
  events.on('record.accepted', (e) =>
    say({ kind: 'event', name: 'record.accepted', quantity: e.record.quantity }),
  );
  events.on('record.retrying', (e) => say({ kind: 'event', name: 'record.retrying', reason: e.reason }));
  events.on('record.carried-forward', (e) =>
    say({ kind: 'event', name: 'record.carried-forward', quantity: e.record.quantity }),
  );
  events.on('usage.unsent-at-shutdown', (e) =>
    say({
      kind: 'event',
      name: 'usage.unsent-at-shutdown',
      records: e.records.length,
      openUnits: e.openUnits,
      unanswered: e.unanswered.length,
      left: e.left,
    }),
  );
}

/** The AWS sink against the emulator; the SDK's own retries are off so every attempt is the engine's. */
export async function sink() {
  const { MarketplaceMeteringSink } = await import('@meterkit/aws-marketplace');
  return new MarketplaceMeteringSink({
    logger,
    clientConfig: {
      endpoint: env.PROC_EMULATOR,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDPROCESS', secretAccessKey: 'process-test-secret' },
      maxAttempts: 1,
    },
  });
}
