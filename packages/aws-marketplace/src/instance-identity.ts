/** Who "this instance" is for RegisterUsage and MeterUsage: one nonce per process, one implicit customer. */
import { randomUUID } from 'node:crypto';
import type { LegacyCustomer } from '@meterkit/core';

/** Drawn once per process: a task or pod registers once, however many times the app asks. */
export const instanceNonce: string = randomUUID();

/**
 * The customer of every record in instance mode (MeterUsage). AWS attributes MeterUsage to the caller's credentials
 * (instance, task or pod), so there is no customer to resolve; this constant keeps one key per dimension and hour,
 * across restarts too when the store is durable. It is never sent.
 */
export const INSTANCE_CUSTOMER: LegacyCustomer = Object.freeze({ customerIdentifier: 'this-instance' });
