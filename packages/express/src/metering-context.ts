/** What every `meter()` of one `createMetering()` shares: the engine and core's post-response policy. */
import type { MeteringEngine } from '@meterkit/core';
import { type HttpMeteringCounters, RequestMetering } from '@meterkit/core/http';
import type { ResolvedAdapterOptions } from './options.js';

/** Things the adapter counted that the engine never billed (the same counters as the Nest adapter's). */
export type AdapterCounters = HttpMeteringCounters;

/** @internal What every `meter()` of one `createMetering()` shares. */
export class MeteringContext extends RequestMetering {
  constructor(
    engine: MeteringEngine,
    readonly adapter: ResolvedAdapterOptions,
  ) {
    super(engine, adapter.onMissingCustomer);
  }
}
