import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { billFromEmulator } from '../src/billing-report.js';
import { readConfig } from '../src/config.js';
import { type RunningExample, startExample } from '../src/server.js';

const quiet = () => undefined;

describe('readConfig', () => {
  it('uses the in-process emulator when no AWS endpoint or credentials are set', () => {
    expect(readConfig({}).useEmulator).toBe(true);
  });

  it.each([
    'AWS_ENDPOINT_URL_MARKETPLACE_METERING',
    'AWS_ACCESS_KEY_ID',
    'AWS_PROFILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  ])('talks to AWS when %s is set', (name) => {
    expect(readConfig({ [name]: 'x' }).useEmulator).toBe(false);
  });

  it("defaults to port 3001, the adapter's SQLite store and the demo product", () => {
    expect(readConfig({})).toMatchObject({ port: 3001, store: 'sqlite', productCode: 'prod-meterkit-demo' });
  });

  it('refuses an unknown store', () => {
    expect(() => readConfig({ METERKIT_STORE: 'postgres' })).toThrow(/METERKIT_STORE/);
  });
});

describe('the Express example against its in-process emulator', () => {
  let running: RunningExample | undefined;
  afterEach(async () => {
    await running?.metering.shutdown({ server: running.server });
    await running?.backend.emulator?.close();
    running = undefined;
  });

  it('serves the demo API and bills successful calls per customer on shutdown', async () => {
    // The memory store sends the open hour at shutdown, so the in-process emulator's bill can be read right after.
    running = await startExample(readConfig({ PORT: '0', METERKIT_STORE: 'memory' }), quiet);
    const api = request(running.url);
    await api.get('/health').expect(200, { status: 'ok' });
    await api.get('/v1/forecast?city=Paris').set('x-api-key', 'demo-key-acme').expect(200);
    await api.get('/v1/forecast').set('x-api-key', 'demo-key-acme').expect(400);
    await api.get('/v1/forecast?city=Paris').set('x-api-key', 'no-such-key').expect(401);
    await api.post('/v1/reports').set('x-api-key', 'demo-key-globex').send({ title: 'Q3' }).expect(201);
    const exported = await api.get('/v1/export?rows=500').set('x-api-key', 'demo-key-initech').expect(200);
    await running.metering.shutdown({ server: running.server });
    const bill = billFromEmulator(running.backend.emulator!, running.customers).map((l) => [
      l.customer,
      l.dimension,
      l.quantity,
    ]);
    expect(bill).toEqual([
      ['Acme Corp', 'api_calls', 1],
      ['Globex', 'api_calls', 1],
      ['Globex', 'reports', 1],
      ['Initech (legacy listing)', 'export_kb', Math.ceil(Buffer.byteLength(exported.text) / 1024)],
    ]);
  });

  it.each([
    ['/v1/forecast?city=Paris&city=Oslo', 'city'],
    ['/v1/export?rows=1&rows=2', 'rows'],
  ])('answers 400, not 500, to a repeated query parameter: %s', async (path, name) => {
    running = await startExample(readConfig({ PORT: '0' }), quiet);
    const answer = await request(running.url).get(path).set('x-api-key', 'demo-key-acme').expect(400);
    expect(answer.body.message).toBe(`query parameter \`${name}\` must be given once, as plain text`);
  });

  it('bills the final hour when the emulator says unsubscribe-pending, and answers 402 after unsubscribe-success', async () => {
    running = await startExample(readConfig({ PORT: '0', METERKIT_STORE: 'memory' }), quiet);
    const emulator = running.backend.emulator!;
    const api = request(running.url);
    const globex = { productCode: 'prod-meterkit-demo', customerAWSAccountId: '444455556666' };
    const licenseArn = 'arn:aws:license-manager::444455556666:license:l-globex0000000000002';
    for (let i = 0; i < 3; i++) {
      await api.get('/v1/forecast?city=Oslo').set('x-api-key', 'demo-key-globex').expect(200);
    }
    emulator.control.putCustomer({ ...globex, licenseArn, state: 'unsubscribe-pending' });
    await emulator.notificationsSettled();
    expect(emulator.control.notifications().map((n) => [n.action, n.delivery])).toEqual([
      ['unsubscribe-pending', 200],
    ]);
    expect(emulator.ledger.totalQuantity({ licenseArn, dimension: 'api_calls' })).toBe(3);
    emulator.control.putCustomer({ ...globex, licenseArn, state: 'unsubscribed' });
    await emulator.notificationsSettled();
    await api.get('/v1/forecast?city=Oslo').set('x-api-key', 'demo-key-globex').expect(402);
    await api.get('/v1/forecast?city=Oslo').set('x-api-key', 'demo-key-acme').expect(200);
  });

  it('registers a buyer through POST /marketplace/register and bills their usage once AWS confirms the subscription', async () => {
    running = await startExample(readConfig({ PORT: '0', METERKIT_STORE: 'memory' }), quiet);
    const emulator = running.backend.emulator!;
    const api = request(running.url);
    const issued = emulator.control.issueToken({ productCode: 'prod-meterkit-demo', subscribe: false });
    const page = await api
      .post('/marketplace/register')
      .type('form')
      .send({ 'x-amzn-marketplace-token': issued.token })
      .expect(200);
    const apiKey = /<code id="api-key">([^<]+)<\/code>/.exec(page.text)?.[1] as string;
    await api.get('/v1/forecast?city=Oslo').set('x-api-key', apiKey).expect(200);
    const identity = {
      productCode: 'prod-meterkit-demo',
      licenseArn: issued.licenseArn as string,
      customerAWSAccountId: issued.customerAWSAccountId as string,
    };
    emulator.control.putCustomer({ ...identity, state: 'subscribed' });
    await emulator.notificationsSettled();
    await api.get('/v1/forecast?city=Oslo').set('x-api-key', apiKey).expect(200);
    emulator.control.putCustomer({ ...identity, state: 'unsubscribe-pending' });
    await emulator.notificationsSettled();
    expect(emulator.ledger.totalQuantity({ licenseArn: identity.licenseArn, dimension: 'api_calls' })).toBe(
      2,
    );
    expect((await running.registry.findByAccount(apiKey))?.history.map((h) => h.state)).toEqual([
      'registered',
      'subscribed',
      'unsubscribe-pending',
    ]);
  });
});
