/** The rules every CustomerRegistry applies to an entry, as pure functions, so memory, SQLite and Redis agree. */
import type { CustomerRef } from '../model/customer.js';
import { MeteringError } from '../model/errors.js';
import type {
  RegisteredCustomer,
  RegistrationInput,
  SubscriptionChange,
  SubscriptionState,
} from './customer-registry.js';

/**
 * The identity a registry keys a buyer by: account + license ARN under Concurrent Agreements (a license belongs to
 * one product, so the product code is not part of it), product code + customer identifier for legacy products.
 * A JSON array, because identifiers may hold any character.
 */
export function registryKeyOf(customer: CustomerRef, productCode?: string): string {
  return customer.licenseArn !== undefined
    ? JSON.stringify(['L', customer.awsAccountId, customer.licenseArn])
    : JSON.stringify(['C', productCode ?? customer.productCode ?? '', customer.customerIdentifier]);
}

/** The customer as billed: the identifiers with `productCode` set. */
function billedCustomer(customer: CustomerRef, productCode: string): CustomerRef {
  return customer.licenseArn !== undefined
    ? { awsAccountId: customer.awsAccountId, licenseArn: customer.licenseArn, productCode }
    : { customerIdentifier: customer.customerIdentifier, productCode };
}

/** What `register()` does to an entry. `changed` false means nothing to write. */
export function registeredEntry(
  existing: RegisteredCustomer | undefined,
  input: RegistrationInput,
): { entry: RegisteredCustomer; changed: boolean } {
  const freeTrial = input.freeTrial === true;
  if (existing !== undefined) {
    // An entry an event created first keeps its state; the registration adds what the event may have lacked: the
    // free-trial flag and the product code.
    const fillProduct = existing.productCode === '' && input.productCode !== '';
    if ((freeTrial && !existing.freeTrial) || fillProduct) {
      return {
        entry: {
          ...existing,
          ...(fillProduct && {
            productCode: input.productCode,
            customer: billedCustomer(existing.customer, input.productCode),
          }),
          freeTrial: existing.freeTrial || freeTrial,
          updatedAt: Math.max(existing.updatedAt, input.at),
        },
        changed: true,
      };
    }
    return { entry: existing, changed: false };
  }
  return {
    entry: {
      customer: billedCustomer(input.customer, input.productCode),
      productCode: input.productCode,
      accountId: undefined,
      state: 'registered',
      freeTrial,
      registeredAt: input.at,
      updatedAt: input.at,
      history: [{ state: 'registered', at: input.at, source: 'registration' }],
    },
    changed: true,
  };
}

function sameChange(a: SubscriptionChange, b: SubscriptionChange): boolean {
  return a.state === b.state && a.at === b.at && a.source === b.source;
}

/** What `setState()` does to an entry (or to no entry: it creates one). */
export function entryWithChange(
  existing: RegisteredCustomer | undefined,
  customer: CustomerRef,
  change: SubscriptionChange,
): { entry: RegisteredCustomer; changed: boolean } {
  const recorded: SubscriptionChange = Object.fromEntries(
    Object.entries(change).filter(([, value]) => value !== undefined),
  ) as unknown as SubscriptionChange;
  if (existing === undefined) {
    const productCode = customer.productCode ?? '';
    return {
      entry: {
        customer: billedCustomer(customer, productCode),
        productCode,
        accountId: undefined,
        state: change.state,
        freeTrial: change.freeTrial === true,
        registeredAt: change.at,
        updatedAt: change.at,
        history: [recorded],
      },
      changed: true,
    };
  }
  if (existing.history.some((known) => sameChange(known, change))) return { entry: existing, changed: false };
  // Kept in order of `at`: a message delivered late takes its place in the history without undoing a newer state.
  const history = [...existing.history];
  let position = history.length;
  while (position > 0 && (history[position - 1] as SubscriptionChange).at > change.at) position -= 1;
  history.splice(position, 0, recorded);
  const latest = history[history.length - 1] as SubscriptionChange;
  const freeTrialChange = [...history].reverse().find((c) => c.freeTrial !== undefined);
  return {
    entry: {
      ...existing,
      state: latest.state,
      freeTrial: freeTrialChange?.freeTrial ?? existing.freeTrial,
      updatedAt: Math.max(existing.updatedAt, change.at),
      history,
    },
    changed: true,
  };
}

/**
 * What `link()` does. `ownerOfAccount` is the registry key the account is linked to now, if any.
 * @throws {MeteringError} `ERR_METERING_REGISTRY_UNKNOWN_CUSTOMER` or `ERR_METERING_REGISTRY_CONFLICT`.
 */
export function linkedEntry(
  existing: RegisteredCustomer | undefined,
  key: string,
  accountId: string,
  ownerOfAccount: string | undefined,
  at: number,
): { entry: RegisteredCustomer; changed: boolean } {
  if (typeof accountId !== 'string' || accountId.length === 0) {
    throw new MeteringError(
      'ERR_METERING_REGISTRY_CONFLICT',
      'link(): the account id must be a non-empty string',
    );
  }
  if (existing === undefined) {
    throw new MeteringError(
      'ERR_METERING_REGISTRY_UNKNOWN_CUSTOMER',
      'link(): this customer was never registered; register it (after ResolveCustomer) before linking an account',
    );
  }
  if (existing.accountId === accountId) return { entry: existing, changed: false };
  if (existing.accountId !== undefined) {
    throw new MeteringError(
      'ERR_METERING_REGISTRY_CONFLICT',
      'link(): this Marketplace customer is already linked to another app account (one app account per customer)',
    );
  }
  if (ownerOfAccount !== undefined && ownerOfAccount !== key) {
    throw new MeteringError(
      'ERR_METERING_REGISTRY_CONFLICT',
      'link(): this app account is already linked to another Marketplace customer (one customer per app account)',
    );
  }
  return { entry: { ...existing, accountId, updatedAt: Math.max(existing.updatedAt, at) }, changed: true };
}

/** States in which AWS accepts the customer's records. */
export const BILLABLE_STATES: readonly SubscriptionState[] = Object.freeze([
  'subscribed',
  'unsubscribe-pending',
]);

/**
 * When the customer's current run of billable states began (the `subscribe-success` that started it), or undefined
 * when they are not billable now. Records for hours before it are not metered by AWS.
 */
export function subscribedSince(entry: RegisteredCustomer): number | undefined {
  let since: number | undefined;
  for (const change of entry.history) {
    if (!BILLABLE_STATES.includes(change.state)) since = undefined;
    else if (since === undefined) {
      // `unsubscribe-pending` alone does not start a run: only `subscribe-success` does.
      if (change.state === 'subscribed') since = change.at;
    }
  }
  return BILLABLE_STATES.includes(entry.state) ? since : undefined;
}

/** Sort order of `list()`: oldest registration first, then by key, so every registry lists alike. */
export function compareEntries(a: RegisteredCustomer, b: RegisteredCustomer): number {
  if (a.registeredAt !== b.registeredAt) return a.registeredAt - b.registeredAt;
  const ka = registryKeyOf(a.customer, a.productCode);
  const kb = registryKeyOf(b.customer, b.productCode);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Whether `entry` passes a `list()` filter. */
export function matchesFilter(
  entry: RegisteredCustomer,
  filter: { readonly states?: readonly SubscriptionState[] } | undefined,
): boolean {
  return filter?.states === undefined || filter.states.includes(entry.state);
}

/** An entry read back from the JSON a SQLite or Redis registry stored: JSON drops undefined, the entry always has `accountId`. */
export function entryFromJson(text: string): RegisteredCustomer {
  const entry = JSON.parse(text) as RegisteredCustomer;
  return { ...entry, accountId: entry.accountId ?? undefined };
}
