/** RedisStore: the UsageStore contract over Redis, each operation one atomic Lua script, for many replicas. */
import { randomUUID } from 'node:crypto';
import {
  type AuditEntry,
  type DeadLetter,
  type DeadLetterReason,
  MeteringStoreError,
  type StoreStats,
  type UsageRecord,
  type UsageStore,
} from '@meterkit/core';
import {
  type OutboxEntry,
  type OverflowCarry,
  recordIdOf,
  type SealResult,
  type Settlement,
  type SettleResult,
  sealRecord,
  type UsageDelta,
} from '@meterkit/core/store';
import { Redis } from 'ioredis';
import { ADD_DELTAS } from './lua/add-deltas.js';
import { DEAD_LETTERS, PENDING, RELEASE_SUBMITTER, STATS } from './lua/reads.js';
import { REQUEUE } from './lua/requeue.js';
import { SEAL } from './lua/seal.js';
import { SETTLE } from './lua/settle.js';
import { TAKE_DUE } from './lua/take-due.js';
import { LuaScript, type RedisClient } from './lua-script.js';
import { parseRedisStoreOptions, type RedisStoreOptions, type ResolvedRedisStoreOptions } from './options.js';

const scripts = {
  addDeltas: new LuaScript(ADD_DELTAS),
  seal: new LuaScript(SEAL),
  takeDue: new LuaScript(TAKE_DUE),
  settle: new LuaScript(SETTLE),
  requeue: new LuaScript(REQUEUE),
  pending: new LuaScript(PENDING),
  deadLetters: new LuaScript(DEAD_LETTERS),
  stats: new LuaScript(STATS),
  releaseSubmitter: new LuaScript(RELEASE_SUBMITTER),
};

/**
 * How long Redis remembers that a checkpoint was applied. A checkpoint whose reply was lost (a dropped connection,
 * ioredis resending on reconnect, the engine retrying on the next tick) is recognised within this time and not counted
 * twice; the engine retries within seconds.
 */
const CHECKPOINT_MEMORY_MILLIS = 3_600_000;
/** Deltas per checkpoint script: short enough that one replica never holds Redis for long (bench/README.md). */
const CHECKPOINT_CHUNK = 1_000;
/** Digests cached on the client so a checkpoint does not hash every key again; cleared when it reaches this size. */
const DIGEST_CACHE_SIZE = 100_000;

/**
 * A store shared by any number of replicas through Redis 6.2+ / 7 or Valkey. Counters, sealing, record claims and
 * settlement are Lua scripts, so each is atomic across replicas: a late delta can never land in a sealed hour, and a
 * record is claimed by one replica at a time, under a lease that lets another replica take over if the claimer dies.
 * One replica at a time sends (the submitter lease), so replicas share the service's quota. All keys carry one hash
 * tag, `{mk:<keyPrefix>}`, so the store works on Redis Cluster (in one slot).
 *
 * @example
 * ```ts
 * const engine = createMeteringEngine({
 *   sink: new MarketplaceMeteringSink(),
 *   store: new RedisStore({ url: process.env.REDIS_URL, keyPrefix: 'my-product' }),
 * });
 * ```
 * @throws {MeteringConfigurationError} for invalid options.
 */
export class RedisStore implements UsageStore {
  readonly scope = 'shared' as const;
  readonly name = 'redis';
  /** Resolved options (defaults applied). */
  readonly options: ResolvedRedisStoreOptions;
  /** The hash tag every key of this store starts with, e.g. `{mk:meterkit}`. */
  readonly keyBase: string;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly metaKey: string;
  /** Batch ids by checkpoint: the engine retries a checkpoint with the same array, so a retry reuses the id. */
  private readonly checkpointIds = new WeakMap<readonly UsageDelta[], string>();
  private readonly digests = new Map<string, string>();
  private closed = false;

  constructor(options: RedisStoreOptions = {}) {
    this.options = parseRedisStoreOptions(options);
    this.keyBase = `{mk:${this.options.keyPrefix}}`;
    this.metaKey = `${this.keyBase}:meta`;
    if (this.options.client !== undefined) {
      this.client = this.options.client;
      this.ownsClient = false;
    } else {
      this.client = new Redis(this.options.url ?? 'redis://127.0.0.1:6379');
      this.ownsClient = true;
      // Connection trouble surfaces as rejected store calls, which the engine reports and retries; without a
      // listener ioredis would also print every reconnect attempt.
      this.client.on('error', () => undefined);
    }
  }

  async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    let batch = this.checkpointIds.get(deltas);
    if (batch === undefined) {
      batch = randomUUID();
      this.checkpointIds.set(deltas, batch);
    }
    // Chunks keep each script short (Redis runs nothing else meanwhile); each chunk is remembered on its own, so a
    // retry after a partial failure applies only the chunks that did not land.
    for (let from = 0, chunk = 0; from < deltas.length; from += CHECKPOINT_CHUNK, chunk++) {
      const args: (string | number)[] = [`${batch}:${chunk}`, CHECKPOINT_MEMORY_MILLIS];
      for (const delta of deltas.slice(from, from + CHECKPOINT_CHUNK)) {
        args.push(delta.keyId, this.digestOf(delta.keyId), delta.hourStart, delta.quantity, delta.tags ?? '');
      }
      await this.run('addDeltas', scripts.addDeltas, args);
    }
  }

  async sealClosedHours(closeBefore: number, limit: number): Promise<SealResult> {
    const reply = (await this.run('sealClosedHours', scripts.seal, [closeBefore, limit])) as (
      | string
      | number
    )[];
    const carried: OverflowCarry[] = [];
    for (let i = 4; i + 2 < reply.length; i += 3) {
      carried.push({ keyId: String(reply[i]), fromHour: Number(reply[i + 1]), units: Number(reply[i + 2]) });
    }
    return {
      sealedRecords: Number(reply[2]),
      sealedUnits: Number(reply[3]),
      carried,
      more: reply[0] === 1,
      rolledUpTagSets: Number(reply[1]),
    };
  }

  async takeDue(now: number, limit: number, leaseMillis: number): Promise<OutboxEntry[]> {
    const o = this.options;
    const reply = (await this.run('takeDue', scripts.takeDue, [
      now,
      limit,
      leaseMillis,
      o.instanceId,
      o.submitterLeaseMillis,
      randomUUID(),
    ])) as (string | number)[];
    const taken: OutboxEntry[] = [];
    for (let i = 0; i < reply.length; i += 7) {
      const record = recordOf(reply[i + 1], reply[i + 2], reply[i + 3], reply[i + 6]);
      if (record.id !== reply[i]) {
        // The script derives ids itself; a mismatch would make settlements miss their records, so stop here.
        throw new MeteringStoreError(
          'ERR_METERING_STORE',
          `RedisStore: record id ${String(reply[i])} does not match ${record.id}; this release's scripts and @meterkit/core disagree`,
        );
      }
      taken.push({ record, attempts: Number(reply[i + 4]), claim: String(reply[i + 5]) });
    }
    return taken;
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleResult> {
    if (settlements.length === 0) return { applied: 0, stale: 0 };
    const args: (string | number)[] = [this.options.auditCapacity];
    for (const s of settlements) {
      switch (s.kind) {
        case 'accepted':
          args.push(
            s.kind,
            s.id,
            s.claim,
            s.meteringRecordId === undefined ? '-' : `+${s.meteringRecordId}`,
            s.at,
            '',
          );
          break;
        case 'retry':
          args.push(s.kind, s.id, s.claim, s.notBefore, '', '');
          break;
        case 'dead':
          args.push(s.kind, s.id, s.claim, s.reason, s.detail, s.at);
          break;
        case 'carry':
          args.push(s.kind, s.id, s.claim, '', '', '');
          break;
      }
    }
    const [applied, stale] = (await this.run('settle', scripts.settle, args)) as [number, number];
    return { applied, stale };
  }

  async pending(limit: number): Promise<UsageRecord[]> {
    if (limit < 1) return [];
    const reply = (await this.run('pending', scripts.pending, [lastIndex(limit)])) as string[];
    const records: UsageRecord[] = [];
    for (let i = 0; i < reply.length; i += 4) {
      records.push(recordOf(reply[i], reply[i + 1], reply[i + 2], reply[i + 3]));
    }
    return records;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    if (limit < 1) return [];
    const reply = (await this.run('deadLetters', scripts.deadLetters, [lastIndex(limit)])) as string[];
    const letters: DeadLetter[] = [];
    for (let i = 0; i < reply.length; i += 8) {
      letters.push({
        record: recordOf(reply[i], reply[i + 1], reply[i + 2], reply[i + 7]),
        reason: reply[i + 3] as DeadLetterReason,
        detail: String(reply[i + 4]),
        at: Number(reply[i + 5]),
        attempts: Number(reply[i + 6]),
      });
    }
    return letters;
  }

  /** Moves dead letters back into the outbox; like the memory store, they are due at once (`_now` or later). */
  async requeueDeadLetters(ids: readonly string[], _now: number): Promise<number> {
    if (ids.length === 0) return 0;
    return Number(await this.run('requeueDeadLetters', scripts.requeue, ids));
  }

  async auditLog(limit: number): Promise<AuditEntry[]> {
    if (limit < 1) return [];
    let lines: string[];
    try {
      lines = await this.client.lrange(`${this.keyBase}:audit`, -Math.min(limit, 2 ** 31), -1);
    } catch (error) {
      throw this.storeError('auditLog', error);
    }
    return lines.map((line) => {
      const [recordId, keyId, hour, quantity, meteringRecordId, at] = JSON.parse(line) as string[];
      return {
        recordId: String(recordId),
        keyId: String(keyId),
        hourStart: Number(hour),
        quantity: Number(quantity),
        // Stored as '-' for none, else '+' and the id (settle).
        meteringRecordId:
          meteringRecordId === undefined || meteringRecordId === '-' ? undefined : meteringRecordId.slice(1),
        acceptedAt: Number(at),
      };
    });
  }

  async stats(): Promise<StoreStats> {
    const [openKeys, openUnits, closedBefore, accepted, ready, waiting, leased, dead] = (await this.run(
      'stats',
      scripts.stats,
      [],
    )) as (string | number)[];
    return {
      openKeys: Number(openKeys),
      openUnits: Number(openUnits),
      closedBefore: closedBefore === '' ? Number.NEGATIVE_INFINITY : Number(closedBefore),
      outboxReady: Number(ready),
      outboxWaiting: Number(waiting),
      outboxLeased: Number(leased),
      deadLetters: Number(dead),
      accepted: Number(accepted),
    };
  }

  /**
   * Hands the submitter lease on at once (when this replica holds it) and, if the store opened the connection itself,
   * closes it. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.run('close', scripts.releaseSubmitter, [this.options.instanceId]);
    } finally {
      if (this.ownsClient) await (this.client as Redis).quit().catch(() => this.client.disconnect());
    }
  }

  /** The key-hash half of a record id, which the scripts join to the hour label to name records. */
  private digestOf(keyId: string): string {
    let digest = this.digests.get(keyId);
    if (digest === undefined) {
      const id = recordIdOf(keyId, 0);
      digest = id.slice(id.indexOf('~') + 1);
      if (this.digests.size >= DIGEST_CACHE_SIZE) this.digests.clear();
      this.digests.set(keyId, digest);
    }
    return digest;
  }

  private async run(
    operation: string,
    script: LuaScript,
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await script.run(this.client, this.metaKey, args);
    } catch (error) {
      throw this.storeError(operation, error);
    }
  }

  private storeError(operation: string, error: unknown): MeteringStoreError {
    const message = error instanceof Error ? error.message : String(error);
    return new MeteringStoreError('ERR_METERING_STORE', `RedisStore.${operation} failed: ${message}`, {
      cause: error,
    });
  }
}

/** A record from a script's reply: key id, hour, quantity and allocations (empty when nothing was tagged). */
function recordOf(keyId: unknown, hour: unknown, quantity: unknown, allocations: unknown): UsageRecord {
  return sealRecord(
    String(keyId),
    Number(hour),
    Number(quantity),
    typeof allocations === 'string' && allocations !== '' ? allocations : undefined,
  );
}

/** ZRANGE's inclusive stop index for the first `limit` members (-1: all of them). */
function lastIndex(limit: number): number {
  return limit >= 2 ** 31 ? -1 : limit - 1;
}
