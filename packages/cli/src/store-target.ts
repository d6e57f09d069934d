// Runs the commands on a SQLite or Redis store opened by this process; `flush` builds an engine with the AWS sink.
import { MarketplaceMeteringSink } from '@meterkit/aws-marketplace';
import { createMeteringEngine, type MeteringLogger, type UsageStore } from '@meterkit/core';
import {
  auditRow,
  deadLetterRow,
  planRequeue,
  readStatus,
  requeueDeadLetters,
  type ServiceWindow,
} from '@meterkit/core/ops';
import type { CliArgs } from './args.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { OpsTarget } from './target.js';

/** Warnings and errors of a flush go to stderr, so stdout stays the command's answer. */
const stderrLogger: MeteringLogger = {
  info: () => undefined,
  warn: (message, context) => process.stderr.write(`meterkit: ${message} ${JSON.stringify(context ?? {})}\n`),
  error: (message, context) =>
    process.stderr.write(`meterkit: ${message} ${JSON.stringify(context ?? {})}\n`),
};

async function openStore(args: CliArgs): Promise<UsageStore> {
  const target = args.target;
  let store: UsageStore;
  if (target?.kind === 'sqlite') {
    const { existsSync } = await import('node:fs');
    // Opening would create an empty file: a typo must not look like an empty store.
    if (!existsSync(target.filename)) {
      throw new CliError(ExitCode.unreachable, `no SQLite store at ${target.filename}`);
    }
    const { SqliteStore } = await import('@meterkit/sqlite');
    store = new SqliteStore({ filename: target.filename });
  } else if (target?.kind === 'redis') {
    const { RedisStore } = await import('@meterkit/redis');
    store = new RedisStore({ url: target.url, keyPrefix: target.prefix });
  } else {
    throw new CliError(ExitCode.usage, 'no store given');
  }
  try {
    await store.open?.();
    await store.stats();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new CliError(
      ExitCode.unreachable,
      `cannot open the ${store.name} store: ${(error as Error).message}`,
    );
  }
  return store;
}

/** Opens the store named on the command line. */
export async function storeTarget(args: CliArgs): Promise<OpsTarget> {
  const store = await openStore(args);
  const window: ServiceWindow = {
    serviceWindowMillis: args.serviceWindowMillis,
    monthEndCutoffHourUtc: args.monthEndCutoffHourUtc,
  };
  const target = args.target as Exclude<CliArgs['target'], undefined>;
  let closed = false;
  return {
    label:
      target.kind === 'sqlite'
        ? `sqlite ${target.filename}`
        : `redis prefix ${(target as { prefix: string }).prefix}`,
    status: () => readStatus(store, Date.now(), window),
    deadLetters: async (limit) => (await store.deadLetters(limit)).map(deadLetterRow),
    async requeue(request) {
      const now = Date.now();
      const options = { ...window, minWindowLeftMillis: request.minWindowLeftMillis };
      if (request.dryRun) {
        const [letters, audit] = await Promise.all([
          store.deadLetters(args.limit),
          store.auditLog(args.limit),
        ]);
        const wanted = request.ids === undefined ? undefined : new Set(request.ids);
        const plan = planRequeue(
          wanted === undefined ? letters : letters.filter((l) => wanted.has(l.record.id)),
          now,
          { ...options, billedIds: new Set(audit.map((a) => a.recordId)) },
        );
        return {
          moved: 0,
          requeued: plan.replayable.map(deadLetterRow),
          refused: plan.refused.map((r) => ({ ...deadLetterRow(r.letter), Why: r.why })),
        };
      }
      const result = await requeueDeadLetters(store, now, {
        ...options,
        ...(request.ids === undefined ? {} : { ids: request.ids }),
        scanLimit: args.limit,
      });
      return {
        moved: result.moved,
        requeued: result.replayable.map(deadLetterRow),
        refused: result.refused.map((r) => ({ ...deadLetterRow(r.letter), Why: r.why })),
      };
    },
    audit: async (limit) => (await store.auditLog(limit)).map(auditRow),
    async flush(timeoutMillis) {
      const sink = new MarketplaceMeteringSink({
        logger: stderrLogger,
        clientConfig: {
          ...(args.endpoint === undefined ? {} : { endpoint: args.endpoint }),
          ...(args.region === undefined ? {} : { region: args.region }),
        },
      });
      const engine = createMeteringEngine({
        store,
        sink,
        scheduling: 'external',
        logger: stderrLogger,
        // This engine records nothing: it sends what the store holds, whose keys name their products. No default
        // product is needed, and licenseOnly says so to the start-up check.
        licenseOnly: true,
        serviceWindowMillis: args.serviceWindowMillis,
        monthEndCutoffHourUtc: args.monthEndCutoffHourUtc,
      });
      await engine.start();
      try {
        return await engine.forceFlush({ timeoutMillis });
      } finally {
        // The engine closes the store; the open hours stay in it for the app (a store that outlives the process).
        closed = true;
        await engine.shutdown({ timeoutMillis: 0 });
      }
    },
    async close() {
      if (!closed) await store.close();
    },
  };
}
