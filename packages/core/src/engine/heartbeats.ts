/** Zero-usage heartbeats: a 0 for every subscribed customer and declared dimension in every closed hour. */

import type { MeteringEventEmitter } from '../model/events.js';
import { keyIdFor } from '../model/usage-key.js';
import type { CustomerRegistry } from '../registry/customer-registry.js';
import { BILLABLE_STATES, subscribedSince } from '../registry/registry-entries.js';
import type { UsageDelta, UsageStore } from '../store/usage-store.js';
import { HOUR_MILLIS } from '../time/hours.js';

/**
 * Adds a zero delta per subscribed customer, declared dimension and closed hour to the store, just before the engine
 * seals those hours. A zero creates the key in its hour when nothing was used (so the hour seals a record of 0) and
 * changes nothing where there was usage, so the heartbeat rides the same sealing and exactly-once path as usage, and
 * replicas adding the same zeros agree. Off the request path.
 *
 * Which hours: from the first hour not yet closed when the engine started (earlier hours were another process's),
 * and for each customer only hours starting at or after the `subscribe-success` that began their current
 * subscription: AWS does not meter anything before it.
 * @internal
 */
export class ZeroUsageHeartbeats {
  /** Hours starting before this already had their heartbeats (or were before this engine's time). */
  private doneBefore: number;

  constructor(
    private readonly registry: CustomerRegistry,
    private readonly dimensions: readonly string[],
    private readonly store: UsageStore,
    private readonly defaultProductCode: string | undefined,
    private readonly events: MeteringEventEmitter,
    private readonly sliceSize: number,
    firstHour: number,
  ) {
    this.doneBefore = firstHour;
  }

  /** Adds the heartbeats of every hour starting before `closeBefore` that has not had them. Returns deltas added. */
  async addBefore(closeBefore: number): Promise<number> {
    const fromHour = this.doneBefore;
    if (closeBefore <= fromHour) return 0;
    // Advanced first: a failed round is reported, not repeated for an hour that may be sealed by then.
    this.doneBefore = closeBefore;
    const customers = await this.registry.list({ states: BILLABLE_STATES });
    const deltas: UsageDelta[] = [];
    let counted = 0;
    let added = 0;
    for (const entry of customers) {
      const since = subscribedSince(entry);
      const productCode = entry.productCode || entry.customer.productCode || this.defaultProductCode;
      if (since === undefined || productCode === undefined || productCode === '') continue;
      let any = false;
      for (let hour = fromHour; hour < closeBefore; hour += HOUR_MILLIS) {
        if (hour < since) continue;
        any = true;
        for (const dimension of this.dimensions) {
          deltas.push({
            keyId: keyIdFor(entry.customer, dimension, productCode),
            hourStart: hour,
            quantity: 0,
          });
          if (deltas.length >= this.sliceSize) added += await this.write(deltas);
        }
      }
      if (any) counted += 1;
    }
    added += await this.write(deltas);
    if (added > 0) {
      this.events.emit('heartbeats.added', {
        fromHour,
        toHour: closeBefore,
        customers: counted,
        deltas: added,
      });
    }
    return added;
  }

  private async write(deltas: UsageDelta[]): Promise<number> {
    if (deltas.length === 0) return 0;
    const slice = deltas.splice(0);
    await this.store.addDeltas(slice);
    return slice.length;
  }
}
