// Self-metrics for meterkit through OpenTelemetry; the prom-client adapter is at '@meterkit/metrics/prometheus'.
export { type MetricDefinition, type MetricId, type MetricKind, metrics } from './catalog.js';
export {
  type InstrumentMeteringOptions,
  instrumentMetering,
  type MeteringInstrumentation,
} from './instrument-metering.js';
