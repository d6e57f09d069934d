import { BatchMeterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../src/index.js';
import { at, client, NOW, start } from './helpers.js';

describe('smoke', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await start();
  });
  afterAll(() => emulator.close());

  it('bills a BatchMeterUsage record sent by the real SDK', async () => {
    const out = await client(emulator).send(
      new BatchMeterUsageCommand({
        ProductCode: 'prod-abc',
        UsageRecords: [
          { CustomerIdentifier: 'c1', Dimension: 'd', Quantity: 3, Timestamp: at(NOW - 60_000) },
        ],
      }),
    );
    console.log(JSON.stringify(out, null, 1));
    expect(out.Results?.[0]?.Status).toBe('Success');
  });
});
