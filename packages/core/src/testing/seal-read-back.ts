/** Seals once and reads back the records that call sealed, for tests: the store's answer only counts them. */
import type { UsageRecord } from '../model/usage-key.js';
import type { SealResult, UsageStore } from '../store/usage-store.js';

/** More records than a test keeps in one outbox, so `pending()` lists them all. */
const PENDING_LIMIT = 100_000;

/**
 * Calls `sealClosedHours(closeBefore, limit)` and returns its result with the records it moved into the outbox (those
 * `pending()` lists afterwards and did not list before), oldest first. Nothing may touch the store meanwhile.
 */
export async function sealAndReadBack(
  store: UsageStore,
  closeBefore: number,
  limit: number,
): Promise<{ readonly result: SealResult; readonly records: readonly UsageRecord[] }> {
  const before = new Set((await store.pending(PENDING_LIMIT)).map((r) => r.id));
  const result = await store.sealClosedHours(closeBefore, limit);
  const records = (await store.pending(PENDING_LIMIT)).filter((r) => !before.has(r.id));
  return { result, records };
}
