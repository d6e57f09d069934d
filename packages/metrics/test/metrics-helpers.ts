// An engine on a manual clock with an in-memory sink, and a real OpenTelemetry MeterProvider with a pull reader.
import { createMeteringEngine, type MeteringOptions, silentLogger } from '@meterkit/core';
import { InMemorySink, ManualClock } from '@meterkit/core/testing';
import {
  AggregationTemporality,
  type DataPoint,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

export const PRODUCT = 'prod-metrics01';
export const alice = { customerIdentifier: 'cust-alice', productCode: PRODUCT } as const;
export const bob = { customerIdentifier: 'cust-bob', productCode: PRODUCT } as const;
/** From 10:00 to just after the 10:00 hour is sealed (11:00 + the 2 min seal delay). */
export const TO_SEAL = 3_600_000 + 120_000 + 1_000;

export function setup(options: Partial<MeteringOptions> = {}) {
  const clock = new ManualClock();
  const sink = new InMemorySink({ clock });
  const engine = createMeteringEngine({
    sink,
    clock,
    timers: clock,
    logger: silentLogger,
    random: () => 0.5,
    productCode: PRODUCT,
    ...options,
  });
  return { clock, sink, engine };
}

/** A reader that collects on demand, as an in-memory exporter would receive the data. */
export class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export function meterProvider(): { provider: MeterProvider; reader: PullReader } {
  const reader = new PullReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
}

/** Every data point of one metric as `attributes → value`, attribute values joined with `/` (`''` for none). */
export async function read(reader: PullReader, name: string): Promise<Record<string, number>> {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw errors[0];
  return pointsOf(resourceMetrics, name);
}

function pointsOf(resourceMetrics: ResourceMetrics, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints as DataPoint<number>[]) {
        out[Object.values(point.attributes).join('/')] = point.value;
      }
    }
  }
  return out;
}
