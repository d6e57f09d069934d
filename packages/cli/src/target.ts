// What a command works on: a store opened from this process, or a running app's admin endpoint. Same answers either way.
import type { FlushReport } from '@meterkit/core';
import type { AuditRow, DeadLetterRow, MeteringStatus, SinkState } from '@meterkit/core/ops';

/** `status`, plus the sink's last call when a running app answers (a store alone does not know it). */
export type TargetStatus = MeteringStatus & { readonly sink?: SinkState };

export interface RequeueAnswer {
  readonly moved: number;
  readonly requeued: readonly DeadLetterRow[];
  readonly refused: readonly (DeadLetterRow & { readonly Why: string })[];
}

export interface RequeueRequest {
  readonly ids: readonly string[] | undefined;
  readonly minWindowLeftMillis: number;
  readonly dryRun: boolean;
}

/** The operations behind the commands. */
export interface OpsTarget {
  /** For messages: `sqlite /var/lib/app/metering.sqlite`, `redis prefix meterkit`, `app http://…`. */
  readonly label: string;
  status(): Promise<TargetStatus>;
  deadLetters(limit: number): Promise<DeadLetterRow[]>;
  requeue(request: RequeueRequest): Promise<RequeueAnswer>;
  audit(limit: number): Promise<AuditRow[]>;
  flush(timeoutMillis: number): Promise<FlushReport>;
  close(): Promise<void>;
}
