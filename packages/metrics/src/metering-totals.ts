// Running totals kept from the engine's events; nothing here runs on the request path except a refused record().
import type { MeteringEngine, UsageRejectionReason } from '@meterkit/core';
import type { MetricId } from './catalog.js';

export type Attributes = Readonly<Record<string, string>>;

/** One value of one metric with its attributes. */
export interface MetricPoint {
  readonly metric: MetricId;
  readonly attributes: Attributes;
  readonly value: number;
}

/** Cumulative series of one counter, by attribute set. */
class Series {
  readonly #byKey = new Map<string, { attributes: Attributes; value: number }>();

  add(attributes: Attributes, value: number): void {
    const key = JSON.stringify(attributes);
    const entry = this.#byKey.get(key);
    if (entry === undefined) this.#byKey.set(key, { attributes, value });
    else entry.value += value;
  }

  *points(metric: MetricId): Iterable<MetricPoint> {
    for (const { attributes, value } of this.#byKey.values()) yield { metric, attributes, value };
  }
}

/** What a refused `record()` tried to count: the units if they are a usable number, otherwise nothing. */
function refusedUnits(quantity: unknown): number {
  if (quantity === undefined) return 1;
  return typeof quantity === 'number' && Number.isFinite(quantity) && quantity > 0 ? quantity : 0;
}

/** The part of a retry reason before the code (`throttled: ThrottlingException` → `throttled`). */
function retryCategory(reason: string): string {
  const category = reason.split(':', 1)[0] ?? reason;
  return category === 'missing from the response' ? 'missing' : category;
}

/**
 * Subscribes to an engine's events and keeps running totals for the counters of the catalog. Each listener does
 * one map update; the events fire when the engine checkpoints, seals and sends, and for a refused `record()`.
 */
export class MeteringTotals {
  readonly #series = new Map<MetricId, Series>();
  readonly #unsubscribe: (() => void)[];
  #failingSince: number | undefined;

  constructor(engine: MeteringEngine) {
    const e = engine.events;
    const add = (metric: MetricId, attributes: Attributes, value: number) => {
      let series = this.#series.get(metric);
      if (series === undefined) {
        series = new Series();
        this.#series.set(metric, series);
      }
      series.add(attributes, value);
    };
    // A refused record() runs on the request path: its attribute sets are built once per reason.
    const refused = new Map<UsageRejectionReason, { calls: Attributes; units: Attributes }>();
    this.#unsubscribe = [
      e.on('usage.checkpointed', (p) => add('usageUnits', { 'meterkit.usage.outcome': 'counted' }, p.units)),
      e.on('usage.rejected', (p) => {
        let attributes = refused.get(p.reason);
        if (attributes === undefined) {
          attributes = {
            calls: { 'meterkit.reason': p.reason },
            units: { 'meterkit.usage.outcome': 'refused', 'meterkit.reason': p.reason },
          };
          refused.set(p.reason, attributes);
        }
        add('usageRefusals', attributes.calls, 1);
        add('usageUnits', attributes.units, refusedUnits(p.quantity));
      }),
      e.on('records.sealed', (p) => add('records', { 'meterkit.record.outcome': 'sealed' }, p.records)),
      e.on('record.accepted', (p) => {
        add('records', { 'meterkit.record.outcome': 'accepted' }, 1);
        add('recordUnits', { 'meterkit.record.outcome': 'accepted' }, p.record.quantity);
      }),
      e.on('record.carried-forward', (p) => {
        add('records', { 'meterkit.record.outcome': 'duplicate' }, 1);
        add('recordUnits', { 'meterkit.record.outcome': 'duplicate' }, p.record.quantity);
      }),
      e.on('record.retrying', (p) => {
        const category = retryCategory(p.reason);
        add(
          'records',
          category === 'unprocessed'
            ? { 'meterkit.record.outcome': 'unprocessed' }
            : { 'meterkit.record.outcome': 'retried', 'meterkit.reason': category },
          1,
        );
      }),
      e.on('record.dead-lettered', (p) => {
        const attributes = { 'meterkit.record.outcome': 'dead', 'meterkit.reason': p.reason };
        add('records', attributes, 1);
        add('recordUnits', attributes, p.record.quantity);
      }),
      e.on('export.completed', (p) => add('sinkCalls', { 'meterkit.call.outcome': p.outcome }, 1)),
      e.on('sink.failing', (p) => {
        this.#failingSince = p.since;
      }),
      e.on('sink.recovered', () => {
        this.#failingSince = undefined;
      }),
      e.on('engine.error', (p) => add('storeErrors', { 'meterkit.operation': p.operation }, 1)),
    ];
  }

  /** Counts a failure of the metrics' own reads (a store that does not answer). */
  noteReadError(): void {
    let series = this.#series.get('storeErrors');
    if (series === undefined) {
      series = new Series();
      this.#series.set('storeErrors', series);
    }
    series.add({ 'meterkit.operation': 'metrics-read' }, 1);
  }

  /** When the current run of failed sink calls began, if one is on. */
  get failingSince(): number | undefined {
    return this.#failingSince;
  }

  *points(): Iterable<MetricPoint> {
    for (const [metric, series] of this.#series) yield* series.points(metric);
  }

  close(): void {
    for (const off of this.#unsubscribe) off();
  }
}
