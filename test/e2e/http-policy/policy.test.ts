import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { adapters, type RunningAdapter } from './adapters.js';
import { policyCases } from './cases.js';

const zeroCounters = {
  servedWithoutCustomer: 0,
  refusedWithoutCustomer: 0,
  refusedAtCapacity: 0,
  resolverErrors: 0,
  callbackErrors: 0,
  undelivered: 0,
};

/** One request on a fresh connection, body read in full; resolves with the status and headers. */
function send(
  port: number,
  method: string,
  path: string,
  customer: string | undefined,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: customer ? { 'x-customer': customer } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    )
      .on('error', reject)
      .end();
  });
}

describe.each(adapters)('the post-response policy on $name', (adapter) => {
  let running: RunningAdapter | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it.each(policyCases)('$name', async (policyCase) => {
    // Prepare
    running = await adapter.start({
      ...(policyCase.onMissingCustomer === undefined
        ? {}
        : { onMissingCustomer: policyCase.onMissingCustomer }),
      ...(policyCase.maxLiveKeys === undefined ? {} : { maxLiveKeys: policyCase.maxLiveKeys }),
    });
    if (policyCase.before !== undefined) {
      expect((await send(running.port, 'GET', policyCase.before, policyCase.customer)).status).toBe(200);
    }
    // Act
    const answer = await send(running.port, policyCase.method ?? 'GET', policyCase.path, policyCase.customer);
    // Assess
    expect(answer.status).toBe(policyCase.status);
    if (policyCase.header !== undefined)
      expect(answer.headers[policyCase.header[0]]).toBe(policyCase.header[1]);
    expect(await running.billed()).toEqual(policyCase.billed);
    expect(running.counters()).toEqual({ ...zeroCounters, ...policyCase.counters });
  });
});
