/** A minimal in-test CustomerRegistry: enough for the event handler (state and history), no account links. */
import type {
  CustomerRef,
  CustomerRegistry,
  RegisteredCustomer,
  SubscriptionChange,
  SubscriptionState,
} from '@meterkit/core';

function idOf(customer: CustomerRef): string {
  return customer.licenseArn ?? `${customer.productCode}/${customer.customerIdentifier}`;
}

export class TinyRegistry implements CustomerRegistry {
  readonly name = 'tiny';
  readonly entries = new Map<string, RegisteredCustomer>();
  failNext = false;

  async register(input: { customer: CustomerRef; productCode: string; freeTrial?: boolean; at: number }) {
    const existing = this.entries.get(idOf(input.customer));
    if (existing !== undefined) return existing;
    const entry: RegisteredCustomer = {
      customer: input.customer,
      productCode: input.productCode,
      accountId: undefined,
      state: 'registered',
      freeTrial: input.freeTrial ?? false,
      registeredAt: input.at,
      updatedAt: input.at,
      history: [{ state: 'registered', at: input.at, source: 'registration' }],
    };
    this.entries.set(idOf(input.customer), entry);
    return entry;
  }

  async link(): Promise<RegisteredCustomer> {
    throw new Error('not used by these tests');
  }

  async get(customer: CustomerRef) {
    return this.entries.get(idOf(customer));
  }

  async findByAccount() {
    return undefined;
  }

  async setState(customer: CustomerRef, change: SubscriptionChange) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('registry unavailable');
    }
    const existing = this.entries.get(idOf(customer));
    const entry: RegisteredCustomer = {
      customer,
      productCode: customer.productCode ?? existing?.productCode ?? '',
      accountId: existing?.accountId,
      state: change.state,
      freeTrial: existing?.freeTrial ?? false,
      registeredAt: existing?.registeredAt ?? change.at,
      updatedAt: change.at,
      history: [...(existing?.history ?? []), change],
    };
    this.entries.set(idOf(customer), entry);
    return entry;
  }

  async list(filter?: { states?: readonly SubscriptionState[] }) {
    return [...this.entries.values()].filter((e) => filter?.states?.includes(e.state) ?? true);
  }

  async close() {}
}
