/** What a flush or a shutdown reports, and the engine's stats: the shapes `MeteringEngine` returns. */
import type { DispatchCounts } from '../dispatch/dispatcher.js';
import type { UsageRejectionReason } from '../model/events.js';
import type { StoreStats } from '../store/usage-store.js';
import type { UsageLeftAtShutdown } from './shutdown-report.js';

/** What a flush did, and what is left. Returned, never thrown. */
export interface FlushReport extends DispatchCounts {
  checkpointedUnits: number;
  sealedRecords: number;
  /** Records still in the outbox afterwards (waiting for a retry, or not yet due). */
  pending: number;
  timedOut: boolean;
  /** Set by `shutdown()` only: what the shutdown left unbilled, and where (all zero after a complete drain). */
  left?: UsageLeftAtShutdown;
}

export interface EngineStats extends StoreStats {
  liveKeys: number;
  /** Counted but not yet written to the store (merged by key and hour while the store fails). */
  unwrittenDeltas: number;
  /** `record()` calls that counted nothing since start, per reason (the `usage.rejected` events). */
  rejected: Record<UsageRejectionReason, number>;
  state: 'created' | 'running' | 'stopping' | 'stopped';
}
