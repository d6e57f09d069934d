// The gauges: read from the engine's stats and its store at collection time, never kept up to date on any path.
import type { MeteringEngine } from '@meterkit/core';
import { windowClosesAt } from '@meterkit/core/ops';
import type { MeteringTotals, MetricPoint } from './metering-totals.js';

const NONE = {} as const;

/** Reads every gauge once. A store that fails to answer is counted in `meterkit.store.errors` and reports no levels. */
export async function readLevels(engine: MeteringEngine, totals: MeteringTotals): Promise<MetricPoint[]> {
  const o = engine.options;
  const now = o.clock.now();
  const failingSince = totals.failingSince;
  const points: MetricPoint[] = [
    {
      metric: 'sinkFailing',
      attributes: NONE,
      value: failingSince === undefined ? 0 : (now - failingSince) / 1000,
    },
  ];
  try {
    const [stats, oldest] = await Promise.all([engine.stats(), o.store.pending(1)]);
    points.push(
      {
        metric: 'pendingRecords',
        attributes: { 'meterkit.pending.state': 'ready' },
        value: stats.outboxReady,
      },
      {
        metric: 'pendingRecords',
        attributes: { 'meterkit.pending.state': 'waiting' },
        value: stats.outboxWaiting,
      },
      {
        metric: 'pendingRecords',
        attributes: { 'meterkit.pending.state': 'leased' },
        value: stats.outboxLeased,
      },
      { metric: 'openUnits', attributes: NONE, value: stats.openUnits },
      { metric: 'openKeys', attributes: NONE, value: stats.openKeys },
      { metric: 'liveKeys', attributes: NONE, value: stats.liveKeys },
      { metric: 'deadLetters', attributes: NONE, value: stats.deadLetters },
    );
    const first = oldest[0];
    points.push({
      metric: 'oldestPendingAge',
      attributes: NONE,
      value: first === undefined ? 0 : (now - first.hourStart) / 1000,
    });
    if (first !== undefined) {
      points.push({
        metric: 'oldestPendingWindowLeft',
        attributes: NONE,
        value: (windowClosesAt(first.hourStart, o) - now) / 1000,
      });
    }
  } catch {
    totals.noteReadError();
  }
  return points;
}
