// Reports an engine's self-metrics through @opentelemetry/api: observable instruments only, read at collection time.
import type { MeteringEngine } from '@meterkit/core';
import { type Meter, type MeterProvider, type Observable, metrics as otelMetrics } from '@opentelemetry/api';
import { type MetricId, metrics } from './catalog.js';
import { MeteringTotals } from './metering-totals.js';
import { readLevels } from './read-levels.js';

/** Options of {@link instrumentMetering}. */
export interface InstrumentMeteringOptions {
  /** Where the instruments are created. @default the global MeterProvider (a no-op until an SDK registers one) */
  meterProvider?: MeterProvider;
  /** The meter (instrumentation scope) name. @default '@meterkit/metrics' */
  meterName?: string;
}

/** Stops reporting: removes the callback and the event listeners. */
export interface MeteringInstrumentation {
  close(): void;
}

/**
 * Reports the engine's self-metrics (the `meterkit.*` instruments, see the README) to OpenTelemetry. Every
 * instrument is observable: counters are running totals kept from the engine's events, gauges are read from
 * `engine.stats()` and the store when the SDK collects. Nothing is added to `record()`. Without an SDK the global
 * provider is a no-op and the callback never runs.
 *
 * @example
 * const instrumentation = instrumentMetering(engine); // after the OpenTelemetry SDK is set up
 */
export function instrumentMetering(
  engine: MeteringEngine,
  options: InstrumentMeteringOptions = {},
): MeteringInstrumentation {
  const provider = options.meterProvider ?? otelMetrics.getMeterProvider();
  const meter: Meter = provider.getMeter(options.meterName ?? '@meterkit/metrics');
  const totals = new MeteringTotals(engine);
  const instruments = new Map<MetricId, Observable>();
  for (const [id, definition] of Object.entries(metrics) as [MetricId, (typeof metrics)[MetricId]][]) {
    const settings = { description: definition.description, unit: definition.unit };
    instruments.set(
      id,
      definition.kind === 'counter'
        ? meter.createObservableCounter(definition.name, settings)
        : meter.createObservableGauge(definition.name, settings),
    );
  }
  const observables = [...instruments.values()];
  const callback = async (result: {
    observe(observable: Observable, value: number, attributes?: Record<string, string>): void;
  }) => {
    for (const point of totals.points()) {
      result.observe(instruments.get(point.metric) as Observable, point.value, point.attributes);
    }
    for (const point of await readLevels(engine, totals)) {
      result.observe(instruments.get(point.metric) as Observable, point.value, point.attributes);
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return {
    close() {
      meter.removeBatchObservableCallback(callback, observables);
      totals.close();
    },
  };
}
