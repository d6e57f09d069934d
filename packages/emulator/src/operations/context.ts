/**
 * What an operation handler gets besides its validated input.
 */
import type { EmulatorState } from '../state.js';

/** @internal */
export interface OperationContext {
  readonly state: EmulatorState;
  /** Emulator time when the call was received. */
  readonly nowMillis: number;
  /** Region from the credential scope. */
  readonly region: string;
  /** MeterUsage / RegisterUsage caller identity: `x-meterkit-instance-id`, else the access key id. */
  readonly instanceId: string;
  /** Lets a handler add facts to the call log entry. */
  note(facts: { recordCount?: number; unprocessedCount?: number }): void;
}
