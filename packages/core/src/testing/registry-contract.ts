/** The behaviour every CustomerRegistry must have, as a Vitest suite each registry runs against itself. */
import { afterEach, describe, expect, it } from 'vitest';
import type { CustomerRef } from '../model/customer.js';
import { isMeteringError } from '../model/errors.js';
import type { CustomerRegistry } from '../registry/customer-registry.js';

export interface RegistryContractOptions {
  /** For durable registries: close `registry` and open a new one on the same data. */
  reopen?: (registry: CustomerRegistry) => Promise<CustomerRegistry>;
  /**
   * For shared registries: open another handle on the same data (another process, in effect), to show that
   * uniqueness holds between handles. Without it, races run on one handle.
   */
  another?: (registry: CustomerRegistry) => Promise<CustomerRegistry>;
  /** Called after each test with every registry the test opened. */
  cleanup?: (registries: CustomerRegistry[]) => Promise<void>;
}

const T0 = Date.UTC(2026, 10, 26, 10, 15);
const PRODUCT = 'prod-registry1';
const alice: CustomerRef = {
  awsAccountId: '111122223333',
  licenseArn: 'arn:aws:license-manager::111122223333:license:l-0123456789abcdef0',
  productCode: PRODUCT,
};
const bob: CustomerRef = {
  awsAccountId: '444455556666',
  licenseArn: 'arn:aws:license-manager::444455556666:license:l-0fedcba987654321',
  productCode: PRODUCT,
};
const legacy: CustomerRef = { customerIdentifier: 'cust-legacy-1', productCode: PRODUCT };

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isMeteringError(error) ? error.code : `not a MeteringError: ${String(error)}`;
  }
}

/**
 * Runs the registry contract: `describeCustomerRegistryContract('MyRegistry', async () => new MyRegistry(...))`.
 */
export function describeCustomerRegistryContract(
  name: string,
  factory: () => Promise<CustomerRegistry> | CustomerRegistry,
  options: RegistryContractOptions = {},
): void {
  describe(`CustomerRegistry contract: ${name}`, () => {
    let opened: CustomerRegistry[] = [];
    async function make(): Promise<CustomerRegistry> {
      const registry = await factory();
      await registry.open?.();
      opened.push(registry);
      return registry;
    }
    async function track(registry: Promise<CustomerRegistry>): Promise<CustomerRegistry> {
      const r = await registry;
      await r.open?.();
      opened.push(r);
      return r;
    }
    afterEach(async () => {
      const registries = opened;
      opened = [];
      if (options.cleanup) await options.cleanup(registries);
      else for (const r of registries) await r.close();
    });

    it('registers a buyer in state registered, with the product code set and the registration in its history', async () => {
      const registry = await make();
      const entry = await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      expect(entry).toMatchObject({
        customer: { awsAccountId: alice.awsAccountId, licenseArn: alice.licenseArn, productCode: PRODUCT },
        productCode: PRODUCT,
        accountId: undefined,
        state: 'registered',
        freeTrial: false,
        registeredAt: T0,
        updatedAt: T0,
      });
      expect(entry.history).toEqual([{ state: 'registered', at: T0, source: 'registration' }]);
      expect(await registry.get(alice)).toEqual(entry);
    });

    it('records the free-trial flag of the registration', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, freeTrial: true, at: T0 });
      expect((await registry.get(alice))?.freeTrial).toBe(true);
    });

    it('returns the same entry when the same customer registers twice', async () => {
      const registry = await make();
      const first = await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      const second = await registry.register({ customer: alice, productCode: PRODUCT, at: T0 + 60_000 });
      expect(second).toEqual(first);
      expect(await registry.list()).toHaveLength(1);
    });

    it('answers undefined for a customer it does not know', async () => {
      const registry = await make();
      expect(await registry.get(bob)).toBeUndefined();
      expect(await registry.findByAccount('acct-none')).toBeUndefined();
    });

    it('keys legacy customers by product code and customer identifier', async () => {
      const registry = await make();
      await registry.register({ customer: legacy, productCode: PRODUCT, at: T0 });
      await registry.register({
        customer: { customerIdentifier: 'cust-legacy-1', productCode: 'prod-other' },
        productCode: 'prod-other',
        at: T0,
      });
      expect((await registry.get(legacy))?.customer).toEqual({
        customerIdentifier: 'cust-legacy-1',
        productCode: PRODUCT,
      });
      expect(await registry.list()).toHaveLength(2);
    });

    it('links an app account to a customer and finds the customer by that account', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      const linked = await registry.link(alice, 'acct-alice');
      expect(linked.accountId).toBe('acct-alice');
      expect((await registry.findByAccount('acct-alice'))?.customer).toEqual(linked.customer);
      expect(await registry.link(alice, 'acct-alice')).toEqual(linked);
    });

    it('refuses to link a customer already linked to another app account', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      await registry.link(alice, 'acct-alice');
      expect(await codeOf(registry.link(alice, 'acct-mallory'))).toBe('ERR_METERING_REGISTRY_CONFLICT');
      expect(await registry.findByAccount('acct-mallory')).toBeUndefined();
    });

    it('refuses to link an app account already linked to another customer', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      await registry.register({ customer: bob, productCode: PRODUCT, at: T0 });
      await registry.link(alice, 'acct-shared');
      expect(await codeOf(registry.link(bob, 'acct-shared'))).toBe('ERR_METERING_REGISTRY_CONFLICT');
      expect((await registry.get(bob))?.accountId).toBeUndefined();
    });

    it('refuses to link a customer that never registered', async () => {
      const registry = await make();
      expect(await codeOf(registry.link(bob, 'acct-bob'))).toBe('ERR_METERING_REGISTRY_UNKNOWN_CUSTOMER');
    });

    it('lets exactly one of two racing links claim an app account', async () => {
      const registry = await make();
      const other = options.another ? await track(options.another(registry)) : registry;
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      await registry.register({ customer: bob, productCode: PRODUCT, at: T0 });
      const outcomes = await Promise.allSettled([
        registry.link(alice, 'acct-raced'),
        other.link(bob, 'acct-raced'),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const owner = await registry.findByAccount('acct-raced');
      const linked = [await registry.get(alice), await registry.get(bob)].filter(
        (e) => e?.accountId === 'acct-raced',
      );
      expect(linked).toHaveLength(1);
      expect(owner?.customer).toEqual(linked[0]?.customer);
    });

    it('lets exactly one of two racing links claim a customer', async () => {
      const registry = await make();
      const other = options.another ? await track(options.another(registry)) : registry;
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      const outcomes = await Promise.allSettled([
        registry.link(alice, 'acct-one'),
        other.link(alice, 'acct-two'),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const accounts = [await registry.findByAccount('acct-one'), await registry.findByAccount('acct-two')];
      expect(accounts.filter((a) => a !== undefined)).toHaveLength(1);
    });

    it('makes a state change current and appends it to the history', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      const entry = await registry.setState(alice, { state: 'subscribed', at: T0 + 1000, source: 'sns' });
      expect(entry.state).toBe('subscribed');
      expect(entry.updatedAt).toBe(T0 + 1000);
      expect(entry.history.map((c) => c.state)).toEqual(['registered', 'subscribed']);
      expect((await registry.get(alice))?.state).toBe('subscribed');
    });

    it('creates the entry when a state change arrives before the registration, and keeps it on registration', async () => {
      const registry = await make();
      await registry.setState(alice, {
        state: 'subscribed',
        at: T0,
        source: 'eventbridge',
        detail: 'License Updated',
      });
      const entry = await registry.register({ customer: alice, productCode: PRODUCT, at: T0 + 5000 });
      expect(entry.state).toBe('subscribed');
      expect(entry.productCode).toBe(PRODUCT);
      expect(entry.history).toEqual([
        { state: 'subscribed', at: T0, source: 'eventbridge', detail: 'License Updated' },
      ]);
    });

    it('fills in the product code when an event without one created the entry first', async () => {
      const registry = await make();
      const withoutProduct: CustomerRef = {
        awsAccountId: alice.awsAccountId,
        licenseArn: alice.licenseArn,
      } as CustomerRef;
      await registry.setState(withoutProduct, { state: 'subscribed', at: T0, source: 'eventbridge' });
      const entry = await registry.register({ customer: alice, productCode: PRODUCT, at: T0 + 1 });
      expect([entry.productCode, entry.customer.productCode, entry.state]).toEqual([
        PRODUCT,
        PRODUCT,
        'subscribed',
      ]);
      expect((await registry.get(alice))?.productCode).toBe(PRODUCT);
    });

    it('records a change delivered twice once', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      const change = { state: 'subscribed', at: T0 + 1000, source: 'sns' } as const;
      await registry.setState(alice, change);
      const again = await registry.setState(alice, change);
      expect(again.history).toHaveLength(2);
    });

    it('keeps the newest state when an older change is delivered late', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      await registry.setState(alice, { state: 'unsubscribe-pending', at: T0 + 2000, source: 'sns' });
      const entry = await registry.setState(alice, { state: 'subscribed', at: T0 + 1000, source: 'sns' });
      expect(entry.state).toBe('unsubscribe-pending');
      expect(entry.history.map((c) => c.state)).toEqual(['registered', 'subscribed', 'unsubscribe-pending']);
    });

    it('takes the free-trial flag from a change that states it', async () => {
      const registry = await make();
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      const entry = await registry.setState(alice, {
        state: 'subscribed',
        at: T0 + 1,
        source: 'sns',
        freeTrial: true,
      });
      expect(entry.freeTrial).toBe(true);
      expect((await registry.get(alice))?.freeTrial).toBe(true);
    });

    it('lists every customer, or those in the given states, oldest registration first', async () => {
      const registry = await make();
      await registry.register({ customer: bob, productCode: PRODUCT, at: T0 + 10 });
      await registry.register({ customer: alice, productCode: PRODUCT, at: T0 });
      await registry.register({ customer: legacy, productCode: PRODUCT, at: T0 + 20 });
      await registry.setState(bob, { state: 'subscribed', at: T0 + 30, source: 'sns' });
      await registry.setState(legacy, { state: 'unsubscribe-pending', at: T0 + 40, source: 'sns' });
      expect((await registry.list()).map((e) => e.registeredAt)).toEqual([T0, T0 + 10, T0 + 20]);
      const billable = await registry.list({ states: ['subscribed', 'unsubscribe-pending'] });
      expect(billable.map((e) => e.customer)).toEqual([
        { ...bob, productCode: PRODUCT },
        { ...legacy, productCode: PRODUCT },
      ]);
    });

    if (options.reopen) {
      const reopen = options.reopen;
      it('keeps customers, links and history across a reopen', async () => {
        const registry = await make();
        await registry.register({ customer: alice, productCode: PRODUCT, freeTrial: true, at: T0 });
        await registry.link(alice, 'acct-alice');
        await registry.setState(alice, { state: 'subscribed', at: T0 + 1, source: 'sns' });
        const before = await registry.get(alice);
        const again = await track(reopen(registry));
        expect(await again.get(alice)).toEqual(before);
        expect((await again.findByAccount('acct-alice'))?.customer).toEqual(before?.customer);
      });
    }
  });
}
