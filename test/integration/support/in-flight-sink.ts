/** A sink wrapper counting calls in flight, so tests on a manual clock hold time while real HTTP is on the wire. */
import type { ExportResponse, UsageRecord, UsageSink } from '@meterkit/core';

/**
 * Wraps a sink and counts the calls in flight, so a test moving a manual clock can hold time still while real HTTP is
 * on the wire (otherwise the dispatcher's export timeout, on the manual clock, would fire mid-call).
 */
export class InFlightSink implements UsageSink {
  readonly name: string;
  readonly maxBatchSize: number;
  inFlight = 0;
  calls = 0;

  constructor(private readonly inner: UsageSink) {
    this.name = inner.name;
    this.maxBatchSize = inner.maxBatchSize;
  }

  planBatches(records: readonly UsageRecord[]): readonly (readonly UsageRecord[])[] {
    return this.inner.planBatches(records);
  }

  async export(
    records: readonly UsageRecord[],
    options: { readonly signal: AbortSignal },
  ): Promise<ExportResponse> {
    this.inFlight += 1;
    this.calls += 1;
    try {
      return await this.inner.export(records, options);
    } finally {
      this.inFlight -= 1;
    }
  }

  async shutdown(): Promise<void> {
    await this.inner.shutdown?.();
  }
}
