// Every metric meterkit reports about itself: name, kind, unit, attributes. Both adapters build from this list.

/** How a metric behaves: a running total, or a level read at collection time. */
export type MetricKind = 'counter' | 'gauge';

export interface MetricDefinition {
  /** OpenTelemetry name (dots). */
  readonly name: string;
  /** Prometheus name (underscores; `_total` on counters, base unit in the name). */
  readonly promName: string;
  readonly kind: MetricKind;
  /** UCUM unit, as OpenTelemetry expects it. */
  readonly unit: string;
  readonly description: string;
  /** Attribute keys (OpenTelemetry); Prometheus labels drop the `meterkit.` prefix. */
  readonly attributes: readonly string[];
}

function metric(
  name: string,
  kind: MetricKind,
  unit: string,
  description: string,
  attributes: readonly string[],
  promName: string,
): MetricDefinition {
  return { name, kind, unit, description, attributes, promName };
}

/** The catalog, keyed for lookups in code. Documented in the package README. */
export const metrics = {
  usageUnits: metric(
    'meterkit.usage.units',
    'counter',
    '{unit}',
    'Units of usage counted into the store (outcome=counted) or refused by record() (outcome=refused, with the reason).',
    ['meterkit.usage.outcome', 'meterkit.reason'],
    'meterkit_usage_units_total',
  ),
  usageRefusals: metric(
    'meterkit.usage.refusals',
    'counter',
    '{call}',
    'record() calls that counted nothing, by reason.',
    ['meterkit.reason'],
    'meterkit_usage_refusals_total',
  ),
  records: metric(
    'meterkit.records',
    'counter',
    '{record}',
    'Usage records by what happened to them: sealed, accepted, duplicate (another sender billed the key and hour; carried forward), unprocessed, retried (with the reason), dead (with the reason).',
    ['meterkit.record.outcome', 'meterkit.reason'],
    'meterkit_records_total',
  ),
  recordUnits: metric(
    'meterkit.records.units',
    'counter',
    '{unit}',
    'Units in records accepted, carried forward as duplicate, or dead-lettered (with the reason).',
    ['meterkit.record.outcome', 'meterkit.reason'],
    'meterkit_records_units_total',
  ),
  sinkCalls: metric(
    'meterkit.sink.calls',
    'counter',
    '{call}',
    'Calls to the sink (BatchMeterUsage) by outcome: answered, rejected, throttled, server-error, network, timeout, failed.',
    ['meterkit.call.outcome'],
    'meterkit_sink_calls_total',
  ),
  sinkFailing: metric(
    'meterkit.sink.failure.duration',
    'gauge',
    's',
    'How long calls to the sink have failed without an answer; 0 while it answers.',
    [],
    'meterkit_sink_failure_duration_seconds',
  ),
  storeErrors: metric(
    'meterkit.store.errors',
    'counter',
    '{error}',
    'Background operations that failed (checkpoint, flush, and reads for these metrics); each is retried.',
    ['meterkit.operation'],
    'meterkit_store_errors_total',
  ),
  pendingRecords: metric(
    'meterkit.pending.records',
    'gauge',
    '{record}',
    'Sealed records not yet billed, by state: ready (due now), waiting (for a retry), leased (being sent).',
    ['meterkit.pending.state'],
    'meterkit_pending_records',
  ),
  oldestPendingAge: metric(
    'meterkit.pending.oldest.age',
    'gauge',
    's',
    "Age of the oldest pending record's hour; the service refuses records after 24 h (and at the month-end cut-off).",
    [],
    'meterkit_pending_oldest_age_seconds',
  ),
  oldestPendingWindowLeft: metric(
    'meterkit.pending.oldest.window_left',
    'gauge',
    's',
    'Time left before the service refuses the oldest pending record; absent (Prometheus: +Inf) when nothing is pending.',
    [],
    'meterkit_pending_oldest_window_left_seconds',
  ),
  openUnits: metric(
    'meterkit.open.units',
    'gauge',
    '{unit}',
    'Units counted in hours not yet sealed.',
    [],
    'meterkit_open_units',
  ),
  openKeys: metric(
    'meterkit.open.keys',
    'gauge',
    '{key}',
    'Keys (customer, dimension) with usage in hours not yet sealed.',
    [],
    'meterkit_open_keys',
  ),
  liveKeys: metric(
    'meterkit.tally.live_keys',
    'gauge',
    '{key}',
    "Keys in this process's tally (bounded by maxLiveKeys).",
    [],
    'meterkit_tally_live_keys',
  ),
  deadLetters: metric(
    'meterkit.dead_letters',
    'gauge',
    '{record}',
    'Dead letters waiting for an operator (meterkit dead-letters list).',
    [],
    'meterkit_dead_letters',
  ),
} as const satisfies Record<string, MetricDefinition>;

export type MetricId = keyof typeof metrics;
