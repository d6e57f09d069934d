/**
 * The four operations, keyed by name, with the input shape each one validates against.
 */
import type { OperationName } from '../options.js';
import { batchMeterUsage } from './batch-meter-usage.js';
import type { OperationContext } from './context.js';
import { meterUsage } from './meter-usage.js';
import { registerUsage } from './register-usage.js';
import { resolveCustomer } from './resolve-customer.js';

/** @internal */
export interface OperationDefinition {
  readonly inputShape: string;
  // biome-ignore lint/suspicious/noExplicitAny: each handler narrows its own validated input.
  readonly handle: (input: any, ctx: OperationContext) => unknown;
  /** Error answered when the call's region is not enabled. */
  readonly regionError: 'DisabledApiException' | 'InvalidEndpointRegionException';
}

/** @internal */
export const OPERATIONS: Readonly<Record<OperationName, OperationDefinition>> = {
  BatchMeterUsage: {
    inputShape: 'BatchMeterUsageRequest',
    handle: batchMeterUsage,
    regionError: 'DisabledApiException',
  },
  MeterUsage: {
    inputShape: 'MeterUsageRequest',
    handle: meterUsage,
    regionError: 'InvalidEndpointRegionException',
  },
  ResolveCustomer: {
    inputShape: 'ResolveCustomerRequest',
    handle: resolveCustomer,
    regionError: 'DisabledApiException',
  },
  RegisterUsage: {
    inputShape: 'RegisterUsageRequest',
    handle: registerUsage,
    regionError: 'DisabledApiException',
  },
};

export type { OperationContext } from './context.js';
