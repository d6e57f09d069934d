import { createMarketplaceEventHandler } from '@meterkit/aws-marketplace';
import { Meter, marketplaceEventsController, subscriptionPolicyGuard } from '@meterkit/nestjs';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, INITECH, PRODUCT, platforms, startHarness } from './fixture.js';

@Controller('v1')
class ForecastController {
  @UseGuards(subscriptionPolicyGuard(402))
  @Meter('api_calls')
  @Get('forecast')
  forecast() {
    return { forecast: 'sunny' };
  }
}

describe.each(platforms)('subscription events on Nest (%s)', (platform) => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('bills the final hour at once on unsubscribe-pending and answers 402 after unsubscribe-success', async () => {
    // The emulator starts inside the harness: its signing key is read once it exists.
    const keys = { pem: '' };
    const Events = marketplaceEventsController({
      handler: (engine) =>
        createMarketplaceEventHandler({
          engine,
          productCodes: [PRODUCT],
          certificateSource: async () => keys.pem,
        }),
    });
    harness = await startHarness(platform, { controllers: [Events, ForecastController] });
    const { emulator, app } = harness;
    keys.pem = emulator.snsSigningKeyPem;
    const url = await app.getUrl();
    emulator.control.setNotifications({ url: `${url.replace('[::1]', '127.0.0.1')}/marketplace/events` });
    const setState = async (state: 'subscribed' | 'unsubscribe-pending' | 'unsubscribed') => {
      emulator.control.putCustomer({
        productCode: PRODUCT,
        customerIdentifier: INITECH.customerIdentifier,
        state,
      });
      await emulator.notificationsSettled();
    };
    const call = () => fetch(`${url}/v1/forecast`, { headers: { 'x-api-key': 'key-initech' } });

    await setState('subscribed');
    for (let i = 0; i < 3; i++) expect((await call()).status).toBe(200);
    await harness.clock.advance(10 * 60_000);
    await setState('unsubscribe-pending');
    expect(emulator.control.notifications().map((n) => n.delivery)).toEqual([200, 200]);
    expect(harness.billed(INITECH, 'api_calls')).toBe(3);
    await setState('unsubscribed');
    expect((await call()).status).toBe(402);
  });

  it('answers 403 to a message whose signature does not verify', async () => {
    const Events = marketplaceEventsController({
      handler: (engine) =>
        createMarketplaceEventHandler({ engine, certificateSource: async () => 'not a key' }),
    });
    harness = await startHarness(platform, { controllers: [Events] });
    harness.emulator.control.setNotifications({
      url: `${(await harness.app.getUrl()).replace('[::1]', '127.0.0.1')}/marketplace/events`,
    });
    harness.emulator.control.putCustomer({ productCode: PRODUCT, customerIdentifier: 'cust-x' });
    await harness.emulator.notificationsSettled();
    expect(harness.emulator.control.notifications().map((n) => n.delivery)).toEqual([403]);
  });
});
