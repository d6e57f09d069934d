/** SqliteStore: open hours, outbox, dead letters and audit log in one SQLite file (WAL), durable across restarts. */
import { randomUUID } from 'node:crypto';
import {
  type AuditEntry,
  type DeadLetter,
  type DeadLetterReason,
  HOUR_MILLIS,
  MeteringStoreError,
  type StoreStats,
  type UsageRecord,
  type UsageStore,
} from '@meterkit/core';
import {
  decodeAllocations,
  encodeAllocations,
  MAX_RECORD_QUANTITY,
  type OutboxEntry,
  type OverflowCarry,
  recordIdOf,
  type SealResult,
  type Settlement,
  type SettleResult,
  sealAllocations,
  sealRecord,
  tagSetIdOfTags,
  type UsageDelta,
} from '@meterkit/core/store';
import Database from 'better-sqlite3';
import {
  parseSqliteStoreOptions,
  type ResolvedSqliteStoreOptions,
  type SqliteStoreOptions,
} from './options.js';
import { migrate } from './schema.js';

interface StateRow {
  closed_before: number | null;
  submitter: string | null;
  submitter_until: number | null;
}
interface OpenRow {
  rowid: number;
  key_id: string;
  quantity: number;
  tagged: number;
}
interface OutboxRow {
  id: string;
  key_id: string;
  hour: number;
  quantity: number;
  attempts: number;
  state: 'ready' | 'waiting' | 'leased';
  claim: string | null;
  allocations: string | null;
}
interface DeadRow {
  id: string;
  key_id: string;
  hour: number;
  quantity: number;
  reason: DeadLetterReason;
  detail: string;
  at: number;
  attempts: number;
  allocations: string | null;
}
interface AuditRow {
  record_id: string;
  key_id: string;
  hour: number;
  quantity: number;
  metering_record_id: string | null;
  accepted_at: number;
}

/** Prepares every statement once; better-sqlite3 statements are cheap to run and expensive to compile. */
function prepare(db: Database.Database) {
  return {
    state: db.prepare<[], StateRow>(
      'SELECT closed_before, submitter, submitter_until FROM meterkit_state WHERE id = 1',
    ),
    setClosedBefore: db.prepare<[number]>('UPDATE meterkit_state SET closed_before = ? WHERE id = 1'),
    nextSeq: db.prepare<[], { seq: number }>(
      'UPDATE meterkit_state SET seq = seq + 1 WHERE id = 1 RETURNING seq',
    ),
    countAccepted: db.prepare('UPDATE meterkit_state SET accepted = accepted + 1 WHERE id = 1'),
    holdSubmitter: db.prepare<[string, number]>(
      'UPDATE meterkit_state SET submitter = ?, submitter_until = ? WHERE id = 1',
    ),
    releaseSubmitter: db.prepare<[string]>(
      'UPDATE meterkit_state SET submitter = NULL, submitter_until = NULL WHERE id = 1 AND submitter = ?',
    ),
    // The sum only happens while it stays within 2^53 - 1 (exact in the doubles better-sqlite3 reads back); otherwise
    // nothing changes and addOpen() fills the row up and moves the rest on.
    addOpen: db.prepare<[number, string, number]>(
      `INSERT INTO meterkit_open (hour, key_id, quantity) VALUES (?, ?, ?)
       ON CONFLICT (hour, key_id) DO UPDATE SET quantity = quantity + excluded.quantity
       WHERE quantity <= ${Number.MAX_SAFE_INTEGER} - excluded.quantity`,
    ),
    openQuantity: db.prepare<[number, string], { quantity: number }>(
      'SELECT quantity FROM meterkit_open WHERE hour = ? AND key_id = ?',
    ),
    fillOpen: db.prepare<[number, string]>(
      `UPDATE meterkit_open SET quantity = ${Number.MAX_SAFE_INTEGER} WHERE hour = ? AND key_id = ?`,
    ),
    /** A tagged part: the key's total gets the quantity too (addOpen), flagged so sealing looks for its parts. */
    flagTagged: db.prepare<[number, string]>(
      'UPDATE meterkit_open SET tagged = 1 WHERE hour = ? AND key_id = ?',
    ),
    addOpenTag: db.prepare<[number, string, string, number]>(
      `INSERT INTO meterkit_open_tags (hour, key_id, tags, quantity) VALUES (?, ?, ?, ?)
       ON CONFLICT (hour, key_id, tags) DO UPDATE SET quantity = quantity + excluded.quantity`,
    ),
    openTagsOf: db.prepare<[number, string], { tags: string; quantity: number }>(
      'SELECT tags, quantity FROM meterkit_open_tags WHERE hour = ? AND key_id = ?',
    ),
    deleteOpenTags: db.prepare<[number, string]>(
      'DELETE FROM meterkit_open_tags WHERE hour = ? AND key_id = ?',
    ),
    earliestClosedHour: db.prepare<[number], { hour: number }>(
      'SELECT hour FROM meterkit_open WHERE hour < ? ORDER BY hour LIMIT 1',
    ),
    openRowsOfHour: db.prepare<[number, number], OpenRow>(
      'SELECT rowid, key_id, quantity, tagged FROM meterkit_open WHERE hour = ? ORDER BY rowid LIMIT ?',
    ),
    deleteOpen: db.prepare<[number]>('DELETE FROM meterkit_open WHERE rowid = ?'),
    anyOpenBefore: db.prepare<[number], { one: number }>(
      'SELECT 1 AS one FROM meterkit_open WHERE hour < ? LIMIT 1',
    ),
    enqueue: db.prepare<[string, string, number, number, number, number, string | null]>(
      `INSERT OR REPLACE INTO meterkit_outbox (id, key_id, hour, quantity, seq, attempts, state, allocations)
       VALUES (?, ?, ?, ?, ?, ?, 'ready', ?)`,
    ),
    releaseExpired: db.prepare<[number]>(
      "UPDATE meterkit_outbox SET state = 'ready', claim = NULL WHERE state = 'leased' AND lease_until <= ?",
    ),
    wakeWaiting: db.prepare<[number]>(
      "UPDATE meterkit_outbox SET state = 'ready' WHERE state = 'waiting' AND not_before <= ?",
    ),
    ready: db.prepare<[number], OutboxRow>(
      "SELECT * FROM meterkit_outbox WHERE state = 'ready' ORDER BY hour, seq LIMIT ?",
    ),
    lease: db.prepare<[string, number, string]>(
      "UPDATE meterkit_outbox SET state = 'leased', attempts = attempts + 1, claim = ?, lease_until = ? WHERE id = ?",
    ),
    outboxEntry: db.prepare<[string], OutboxRow>('SELECT * FROM meterkit_outbox WHERE id = ?'),
    removeOutbox: db.prepare<[string]>('DELETE FROM meterkit_outbox WHERE id = ?'),
    wait: db.prepare<[number, string]>(
      "UPDATE meterkit_outbox SET state = 'waiting', claim = NULL, not_before = ? WHERE id = ?",
    ),
    pending: db.prepare<[number], OutboxRow>('SELECT * FROM meterkit_outbox ORDER BY hour, seq LIMIT ?'),
    outboxCounts: db.prepare<[], { state: string; n: number }>(
      'SELECT state, COUNT(*) AS n FROM meterkit_outbox GROUP BY state',
    ),
    bury: db.prepare<[string, string, number, number, string, string, number, number, number, string | null]>(
      `INSERT OR REPLACE INTO meterkit_dead (id, key_id, hour, quantity, reason, detail, at, attempts, seq, allocations)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deadLetters: db.prepare<[number], DeadRow>('SELECT * FROM meterkit_dead ORDER BY seq LIMIT ?'),
    deadLetter: db.prepare<[string], DeadRow>('SELECT * FROM meterkit_dead WHERE id = ?'),
    unbury: db.prepare<[string]>('DELETE FROM meterkit_dead WHERE id = ?'),
    deadCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM meterkit_dead'),
    audit: db.prepare<[string, string, number, number, string | null, number]>(
      `INSERT INTO meterkit_audit (record_id, key_id, hour, quantity, metering_record_id, accepted_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    trimAudit: db.prepare<[number]>(
      'DELETE FROM meterkit_audit WHERE seq <= (SELECT MAX(seq) FROM meterkit_audit) - ?',
    ),
    auditTail: db.prepare<[number], AuditRow>('SELECT * FROM meterkit_audit ORDER BY seq DESC LIMIT ?'),
    openTotals: db.prepare<[], { keys: number; units: number }>(
      'SELECT COUNT(*) AS keys, COALESCE(SUM(quantity), 0) AS units FROM meterkit_open',
    ),
    acceptedCount: db.prepare<[], { accepted: number }>('SELECT accepted FROM meterkit_state WHERE id = 1'),
  };
}

type Statements = ReturnType<typeof prepare>;

/** The record a stored row holds, allocations included (built the same on every read, so every resend is identical). */
function recordOf(row: {
  key_id: string;
  hour: number;
  quantity: number;
  allocations: string | null;
}): UsageRecord {
  return sealRecord(row.key_id, row.hour, row.quantity, row.allocations ?? undefined);
}

/**
 * A durable store in one SQLite file (WAL), for one host. Open hours, the outbox, dead letters and the audit log all
 * survive a restart or a crash, so a process that comes back carries on sealing and sending where the last one
 * stopped, and a shutdown never has to send a partial hour.
 *
 * Every method is one transaction (`BEGIN IMMEDIATE`), so several processes may share the file: a record is claimed
 * by exactly one of them, and a submitter lease lets one process at a time send, so they share the service's quota.
 * better-sqlite3 is synchronous, so each transaction is kept small (the engine seals and drains in slices).
 *
 * @example
 * ```ts
 * const engine = createMeteringEngine({
 *   sink: new MarketplaceMeteringSink(),
 *   store: new SqliteStore({ filename: '/var/lib/myapp/metering.sqlite' }),
 * });
 * ```
 * @throws {MeteringConfigurationError} for invalid options or a file written by a newer release.
 */
export class SqliteStore implements UsageStore {
  readonly scope = 'host' as const;
  readonly name = 'sqlite';
  /** The database file, as given. */
  readonly location: string;
  /** Resolved options (defaults applied). */
  readonly options: ResolvedSqliteStoreOptions;
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.options = parseSqliteStoreOptions(options);
    const o = this.options;
    this.location = o.filename;
    this.db = new Database(o.filename, { timeout: o.busyTimeoutMillis });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${o.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      migrate(this.db, o.filename);
      this.sql = prepare(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  async addDeltas(deltas: readonly UsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    this.write('addDeltas', () => {
      const closedBefore = this.closedBefore();
      for (const delta of deltas) {
        // Usage for a sealed hour is billed in the earliest open hour: late, never lost, never a second record.
        const hour = Math.max(delta.hourStart, closedBefore);
        this.addOpen(hour, delta.keyId, delta.quantity, delta.tags);
      }
    });
  }

  async sealClosedHours(closeBefore: number, limit: number): Promise<SealResult> {
    return this.write('sealClosedHours', () => {
      let closedBefore = this.closedBefore();
      if (closeBefore > closedBefore) {
        closedBefore = closeBefore;
        this.sql.setClosedBefore.run(closeBefore);
      }
      let sealedRecords = 0;
      let sealedUnits = 0;
      const carried: OverflowCarry[] = [];
      let rolledUpTagSets = 0;
      // The earliest closed hour is looked up afresh each time: an overflow carried into the next hour must be sealed
      // before any later hour, or a later hour could be sealed twice for the same key.
      while (sealedRecords < limit) {
        const hour = this.sql.earliestClosedHour.get(closedBefore)?.hour;
        if (hour === undefined) break;
        const rows = this.sql.openRowsOfHour.all(hour, limit - sealedRecords);
        for (const row of rows) {
          let quantity = row.quantity;
          let allocations: string | undefined;
          if (row.tagged === 1) {
            // Tagged usage: one record all the same, its allocations fixed here (and the excess of each carried).
            const parts = new Map<string, number>();
            for (const part of this.sql.openTagsOf.all(hour, row.key_id)) parts.set(part.tags, part.quantity);
            this.sql.deleteOpenTags.run(hour, row.key_id);
            const split = sealAllocations(quantity, parts, MAX_RECORD_QUANTITY);
            rolledUpTagSets += split.rolledUp;
            for (const [tagSetId, excess] of split.carried)
              this.addOpen(hour + HOUR_MILLIS, row.key_id, excess, tagSetId);
            if (quantity > MAX_RECORD_QUANTITY) {
              carried.push({ keyId: row.key_id, fromHour: hour, units: quantity - MAX_RECORD_QUANTITY });
              quantity = MAX_RECORD_QUANTITY;
            }
            if (split.parts.length > 0) allocations = encodeAllocations(split.parts);
          } else if (quantity > MAX_RECORD_QUANTITY) {
            // One record carries at most the service's maximum; the rest is billed in the next hour, never truncated.
            this.addOpen(hour + HOUR_MILLIS, row.key_id, quantity - MAX_RECORD_QUANTITY, undefined);
            carried.push({ keyId: row.key_id, fromHour: hour, units: quantity - MAX_RECORD_QUANTITY });
            quantity = MAX_RECORD_QUANTITY;
          }
          this.sql.deleteOpen.run(row.rowid);
          this.enqueue(recordIdOf(row.key_id, hour), row.key_id, hour, quantity, 0, allocations);
          sealedRecords += 1;
          sealedUnits += quantity;
        }
      }
      return {
        sealedRecords,
        sealedUnits,
        carried,
        more: this.sql.anyOpenBefore.get(closedBefore) !== undefined,
        rolledUpTagSets,
      };
    });
  }

  async takeDue(now: number, limit: number, leaseMillis: number): Promise<OutboxEntry[]> {
    return this.write('takeDue', () => {
      if (!this.holdSubmitterLease(now)) return [];
      this.sql.releaseExpired.run(now);
      this.sql.wakeWaiting.run(now);
      const taken: OutboxEntry[] = [];
      for (const row of this.sql.ready.all(limit)) {
        const claim = randomUUID();
        this.sql.lease.run(claim, now + leaseMillis, row.id);
        taken.push({
          record: recordOf(row),
          attempts: row.attempts + 1,
          claim,
        });
      }
      return taken;
    });
  }

  async settle(settlements: readonly Settlement[]): Promise<SettleResult> {
    return this.write('settle', () => {
      let applied = 0;
      let stale = 0;
      for (const s of settlements) {
        const row = this.sql.outboxEntry.get(s.id);
        if (row === undefined || row.state !== 'leased' || row.claim !== s.claim) {
          stale += 1;
          continue;
        }
        applied += 1;
        switch (s.kind) {
          case 'accepted':
            this.sql.removeOutbox.run(s.id);
            this.sql.countAccepted.run();
            this.sql.audit.run(s.id, row.key_id, row.hour, row.quantity, s.meteringRecordId ?? null, s.at);
            this.sql.trimAudit.run(this.options.auditCapacity);
            break;
          case 'retry':
            this.sql.wait.run(s.notBefore, s.id);
            break;
          case 'dead':
            this.sql.removeOutbox.run(s.id);
            this.sql.bury.run(
              s.id,
              row.key_id,
              row.hour,
              row.quantity,
              s.reason,
              s.detail,
              s.at,
              row.attempts,
              this.nextSeq(),
              row.allocations,
            );
            break;
          case 'carry': {
            this.sql.removeOutbox.run(s.id);
            // Someone else billed this key and hour: bill the quantity in the next hour that is still open.
            const closedBefore = this.closedBefore();
            const next = Math.max(row.hour + HOUR_MILLIS, closedBefore);
            if (row.allocations === null) this.addOpen(next, row.key_id, row.quantity, undefined);
            else
              for (const allocation of decodeAllocations(row.allocations))
                this.addOpen(next, row.key_id, allocation.quantity, tagSetIdOfTags(allocation.tags));
            break;
          }
        }
      }
      return { applied, stale };
    });
  }

  async pending(limit: number): Promise<UsageRecord[]> {
    return this.read('pending', () => this.sql.pending.all(limit).map((row) => recordOf(row)));
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.read('deadLetters', () =>
      this.sql.deadLetters.all(limit).map((row) => ({
        record: recordOf(row),
        reason: row.reason,
        detail: row.detail,
        at: row.at,
        attempts: row.attempts,
      })),
    );
  }

  /** Moves dead letters back into the outbox; like the memory store, they are due at once (`_now` or later). */
  async requeueDeadLetters(ids: readonly string[], _now: number): Promise<number> {
    return this.write('requeueDeadLetters', () => {
      let moved = 0;
      for (const id of ids) {
        const letter = this.sql.deadLetter.get(id);
        if (letter === undefined || this.sql.outboxEntry.get(id) !== undefined) continue;
        this.sql.unbury.run(id);
        // Attempts are kept: a record that was ever sent must still be recognised as our own if AWS echoes it back.
        this.enqueue(
          letter.id,
          letter.key_id,
          letter.hour,
          letter.quantity,
          letter.attempts,
          letter.allocations,
        );
        moved += 1;
      }
      return moved;
    });
  }

  async auditLog(limit: number): Promise<AuditEntry[]> {
    return this.read('auditLog', () =>
      this.sql.auditTail
        .all(limit)
        .reverse()
        .map((row) => ({
          recordId: row.record_id,
          keyId: row.key_id,
          hourStart: row.hour,
          quantity: row.quantity,
          meteringRecordId: row.metering_record_id ?? undefined,
          acceptedAt: row.accepted_at,
        })),
    );
  }

  async stats(): Promise<StoreStats> {
    return this.read('stats', () => {
      const open = this.sql.openTotals.get() as { keys: number; units: number };
      const byState = new Map(this.sql.outboxCounts.all().map((row) => [row.state, row.n]));
      return {
        openKeys: open.keys,
        openUnits: open.units,
        closedBefore: this.closedBefore(),
        outboxReady: byState.get('ready') ?? 0,
        outboxWaiting: byState.get('waiting') ?? 0,
        outboxLeased: byState.get('leased') ?? 0,
        deadLetters: (this.sql.deadCount.get() as { n: number }).n,
        accepted: (this.sql.acceptedCount.get() as { accepted: number }).accepted,
      };
    });
  }

  /** Hands the submitter lease on at once (when this process holds it) and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sql.releaseSubmitter.run(this.options.instanceId);
    } finally {
      this.db.close();
    }
  }

  /**
   * Adds usage to an open hour, inside a write transaction. A total stops at 2^53 - 1 (exact as a double); what does
   * not fit goes to the next hour, as a sealed overflow does.
   */

  private closedBefore(): number {
    return (this.sql.state.get() as StateRow).closed_before ?? Number.NEGATIVE_INFINITY;
  }

  /** True when this process may send now: it holds the submitter lease (renewed here) or the lease has lapsed. */
  private holdSubmitterLease(now: number): boolean {
    const { submitter, submitter_until } = this.sql.state.get() as StateRow;
    if (submitter !== null && submitter !== this.options.instanceId && (submitter_until ?? 0) > now)
      return false;
    this.sql.holdSubmitter.run(this.options.instanceId, now + this.options.submitterLeaseMillis);
    return true;
  }

  private nextSeq(): number {
    return (this.sql.nextSeq.get() as { seq: number }).seq;
  }

  /** Puts a record into the outbox as its columns (`allocations` as encoded at seal): no record object is built. */
  private enqueue(
    id: string,
    keyId: string,
    hour: number,
    quantity: number,
    attempts: number,
    allocations: string | null | undefined,
  ): void {
    this.sql.enqueue.run(id, keyId, hour, quantity, this.nextSeq(), attempts, allocations ?? null);
  }

  /**
   * Adds open usage; a tagged part also goes to its tag set's part of the key's total. A total stops at 2^53 - 1 and
   * the rest moves on to the next hour, under the same tags.
   */
  private addOpen(hour: number, keyId: string, quantity: number, tagSetId: string | undefined): void {
    const tagged = tagSetId !== undefined && tagSetId !== '';
    let target = hour;
    let rest = quantity;
    while (this.sql.addOpen.run(target, keyId, rest).changes === 0) {
      const total = (this.sql.openQuantity.get(target, keyId) as { quantity: number }).quantity;
      this.sql.fillOpen.run(target, keyId);
      const room = Number.MAX_SAFE_INTEGER - total;
      if (tagged && room > 0) this.addTaggedPart(target, keyId, tagSetId, room);
      rest -= room;
      target += HOUR_MILLIS;
    }
    if (tagged) this.addTaggedPart(target, keyId, tagSetId, rest);
  }

  private addTaggedPart(hour: number, keyId: string, tagSetId: string, quantity: number): void {
    this.sql.flagTagged.run(hour, keyId);
    this.sql.addOpenTag.run(hour, keyId, tagSetId, quantity);
  }

  /** Runs `work` as one write transaction, taking the write lock up front so two processes never deadlock. */
  private write<T>(operation: string, work: () => T): T {
    try {
      return this.db.transaction(work).immediate();
    } catch (error) {
      throw this.storeError(operation, error);
    }
  }

  /** Runs `work` as one read transaction: a consistent snapshot, even while another process writes. */
  private read<T>(operation: string, work: () => T): T {
    try {
      return this.db.transaction(work).deferred();
    } catch (error) {
      throw this.storeError(operation, error);
    }
  }

  private storeError(operation: string, error: unknown): MeteringStoreError {
    const message = error instanceof Error ? error.message : String(error);
    return new MeteringStoreError('ERR_METERING_STORE', `SqliteStore.${operation} failed: ${message}`, {
      cause: error,
    });
  }
}
