import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from '../src/bootstrap.js';
import { readConfig } from '../src/config.js';

const quiet = () => undefined;

describe('the Nest example reading its query parameters', () => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.app.close();
    await running?.emulator?.close();
    running = undefined;
  });

  it.each([
    ['/v1/forecast?city=Paris&city=Oslo', 'city'],
    ['/v1/export?rows=1&rows=2', 'rows'],
  ])('answers 400, not 500, to a repeated query parameter: %s', async (path, name) => {
    running = await startApp(readConfig({ PORT: '0' }), quiet);
    const answer = await request(running.url).get(path).set('x-api-key', 'demo-key-acme').expect(400);
    expect(answer.body.message).toBe(`query parameter \`${name}\` must be given once, as plain text`);
  });

  it('still serves a single city', async () => {
    running = await startApp(readConfig({ PORT: '0' }), quiet);
    const answer = await request(running.url)
      .get('/v1/forecast?city=Paris')
      .set('x-api-key', 'demo-key-acme')
      .expect(200);
    expect(answer.body.city).toBe('Paris');
  });
});
