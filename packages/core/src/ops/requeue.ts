// Which dead letters may go back to the outbox: only what the service still accepts, never a second record.

import type { DeadLetter, UsageStore } from '../store/usage-store.js';
import { formatHour } from '../time/hours.js';
import { type ServiceWindow, windowClosesAt } from './service-window.js';

/** A dead letter that stays dead, and why. */
export interface RefusedRequeue {
  readonly letter: DeadLetter;
  readonly why: string;
}

export interface RequeuePlan {
  readonly replayable: readonly DeadLetter[];
  readonly refused: readonly RefusedRequeue[];
}

export interface RequeueOptions extends ServiceWindow {
  /**
   * A record whose window closes sooner than this is refused: it would likely be refused as too old before it is
   * sent, and a second refusal teaches nothing. @default 900_000 (15 min)
   */
  readonly minWindowLeftMillis?: number;
  /** Record ids already billed (from the audit log): requeueing one would only make AWS answer DuplicateRecord. */
  readonly billedIds?: ReadonlySet<string>;
}

/** Splits dead letters into those the service still accepts and those it would refuse (with the reason). */
export function planRequeue(
  letters: readonly DeadLetter[],
  now: number,
  options: RequeueOptions,
): RequeuePlan {
  const margin = options.minWindowLeftMillis ?? 900_000;
  const replayable: DeadLetter[] = [];
  const refused: RefusedRequeue[] = [];
  for (const letter of letters) {
    const closesAt = windowClosesAt(letter.record.hourStart, options);
    if (letter.reason === 'too-old') {
      refused.push({ letter, why: 'the service refused it as too old; it cannot be billed any more' });
    } else if (options.billedIds?.has(letter.record.id) === true) {
      refused.push({ letter, why: 'this key and hour is already billed (it is in the audit log)' });
    } else if (closesAt - now < margin) {
      refused.push({
        letter,
        why:
          closesAt <= now
            ? `the service window for ${formatHour(letter.record.hourStart)} closed at ${new Date(closesAt).toISOString()}`
            : `the service window for ${formatHour(letter.record.hourStart)} closes at ${new Date(closesAt).toISOString()}, too soon to send it`,
      });
    } else {
      replayable.push(letter);
    }
  }
  return { replayable, refused };
}

export interface RequeueResult extends RequeuePlan {
  /** How many records the store moved back to the outbox (a record already requeued by someone else is not moved). */
  readonly moved: number;
}

/**
 * Moves the replayable dead letters (all, or those with `ids`) back to the outbox, due at `now`. Each keeps its sealed
 * identity (key, hour, quantity), so sending it again is the record AWS would have billed, never a second one.
 */
export async function requeueDeadLetters(
  store: UsageStore,
  now: number,
  options: RequeueOptions & { readonly ids?: readonly string[]; readonly scanLimit?: number },
): Promise<RequeueResult> {
  const limit = options.scanLimit ?? 100_000;
  const [all, audit] = await Promise.all([store.deadLetters(limit), store.auditLog(limit)]);
  const wanted = options.ids === undefined ? undefined : new Set(options.ids);
  const letters = wanted === undefined ? all : all.filter((l) => wanted.has(l.record.id));
  const billedIds = new Set(audit.map((a) => a.recordId));
  for (const id of options.billedIds ?? []) billedIds.add(id);
  const plan = planRequeue(letters, now, { ...options, billedIds });
  const moved =
    plan.replayable.length === 0
      ? 0
      : await store.requeueDeadLetters(
          plan.replayable.map((l) => l.record.id),
          now,
        );
  return { ...plan, moved };
}
