import type { BilledRecord } from '@meterkit/emulator';
import { describe, expect, it } from 'vitest';
import type { ServedRequest } from './traffic.js';
import { billedUsage, expectedUsage, findProblems } from './verdict.js';

const HOUR = Date.UTC(2026, 10, 26, 10);
const served = (replica: string, at: number, units = 1, ok = true, failed = false): ServedRequest => ({
  replica,
  customer: 0,
  dimension: 'api_calls',
  units,
  at,
  ok,
  failed,
});
const billed = (quantity: number, hour = HOUR, conflictingResends = 0): BilledRecord => ({
  meteringRecordId: `m-${hour}-${quantity}`,
  operation: 'BatchMeterUsage',
  region: 'us-east-1',
  productCode: 'prod-chaos',
  customerIdentifier: 'cust-0',
  dimension: 'api_calls',
  hourStartMillis: hour,
  timestampMillis: hour,
  quantity,
  firstReceivedMillis: hour,
  identicalResends: 0,
  conflictingResends,
});

function problems(
  log: ServedRequest[],
  records: BilledRecord[],
  kills = [] as { replica: string; lossFrom: number; gone: number }[],
) {
  return findProblems(expectedUsage(log, kills), billedUsage(records), records);
}

describe('chaos verdict', () => {
  it('accepts billing equal to what was served', () => {
    expect(problems([served('r1', 1), served('r2', 2, 3)], [billed(4)])).toEqual([]);
  });

  it('reports over-billing', () => {
    expect(problems([served('r1', 1)], [billed(2)])).toEqual([
      'customer 0 / api_calls: billed 2 but served 1 (+0 uncertain): over-billed by 1',
    ]);
  });

  it('reports usage lost without a kill', () => {
    expect(problems([served('r1', 1), served('r1', 2)], [billed(1)])).toHaveLength(1);
  });

  it('allows a killed replica to lose what it served within the window, and no more', () => {
    const kill = { replica: 'r1', lossFrom: 900, gone: 1_010 };
    const log = [served('r1', 500), served('r1', 950), served('r1', 990)];
    expect(problems(log, [billed(1)], [kill])).toEqual([]);
    expect(problems(log, [billed(0)], [kill])).toHaveLength(1);
  });

  it('allows requests cut by a kill to have been counted, and no more', () => {
    const kill = { replica: 'r1', lossFrom: 900, gone: 1_010 };
    const log = [served('r1', 500), served('r1', 1_005, 1, false, true)];
    expect(problems(log, [billed(2)], [kill])).toEqual([]);
    expect(problems(log, [billed(3)], [kill])).toHaveLength(1);
  });

  it('reports a key and hour that saw another quantity after it was billed', () => {
    expect(problems([served('r1', 1)], [billed(1, HOUR, 1)])).toHaveLength(1);
  });
});
