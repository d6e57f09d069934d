// Reports an engine's self-metrics through prom-client, for apps without OpenTelemetry.
import type { MeteringEngine } from '@meterkit/core';
import { Counter, register as defaultRegistry, Gauge, type Registry } from 'prom-client';
import { type MetricDefinition, type MetricId, metrics } from './catalog.js';
import { MeteringTotals, type MetricPoint } from './metering-totals.js';
import { readLevels } from './read-levels.js';

/** Options of {@link registerMeteringMetrics}. */
export interface PrometheusMetricsOptions {
  /** @default prom-client's global registry */
  registry?: Registry;
}

/** Unregisters the metrics and stops listening. */
export interface PrometheusMetrics {
  close(): void;
}

/** `meterkit.reason` → `reason`: Prometheus labels carry no namespace. */
function labelOf(attribute: string): string {
  return attribute.replace(/^meterkit\./, '').replaceAll('.', '_');
}

function labels(point: MetricPoint): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(point.attributes)) out[labelOf(key)] = value;
  return out;
}

/**
 * Registers the `meterkit_*` metrics (see the README) in a prom-client registry. Values are read when the registry
 * is scraped: counters from running totals kept from the engine's events, gauges from `engine.stats()` and the store
 * (read once per scrape).
 */
export function registerMeteringMetrics(
  engine: MeteringEngine,
  options: PrometheusMetricsOptions = {},
): PrometheusMetrics {
  const registry = options.registry ?? defaultRegistry;
  const totals = new MeteringTotals(engine);
  // Every metric's collect() runs in the same scrape: read the store once for all of them.
  let scrape: Promise<MetricPoint[]> | undefined;
  const points = (): Promise<MetricPoint[]> => {
    if (scrape === undefined) {
      scrape = readLevels(engine, totals).then((levels) => [...totals.points(), ...levels]);
      const forget = () => {
        setImmediate(() => {
          scrape = undefined;
        });
      };
      scrape.then(forget, forget);
    }
    return scrape;
  };
  const registered: string[] = [];
  for (const [id, definition] of Object.entries(metrics) as [MetricId, MetricDefinition][]) {
    const common = {
      name: definition.promName,
      help: definition.description,
      labelNames: definition.attributes.map(labelOf),
      registers: [registry],
    };
    if (definition.kind === 'counter') {
      new Counter({
        ...common,
        async collect() {
          const mine = (await points()).filter((p) => p.metric === id);
          this.reset();
          for (const point of mine) this.inc(labels(point), point.value);
        },
      });
    } else {
      new Gauge({
        ...common,
        async collect() {
          const mine = (await points()).filter((p) => p.metric === id);
          this.reset();
          if (id === 'oldestPendingWindowLeft' && mine.length === 0) this.set(Number.POSITIVE_INFINITY);
          for (const point of mine) this.set(labels(point), point.value);
        },
      });
    }
    registered.push(definition.promName);
  }
  return {
    close() {
      for (const name of registered) registry.removeSingleMetric(name);
      totals.close();
    },
  };
}
