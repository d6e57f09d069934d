import { describe, expect, it } from 'vitest';
import { parseCliArgs, parseDuration } from '../src/cli-args.js';

describe('parseCliArgs', () => {
  it('defaults to port 4566 on 127.0.0.1 in permissive mode', () => {
    expect(parseCliArgs([]).options).toMatchObject({ port: 4566, host: '127.0.0.1', strict: false });
  });

  it('parses products with their dimensions', () => {
    expect(parseCliArgs(['--products', 'prod-a:d1,d2', '--products', 'prod-b:x']).options.products).toEqual([
      { productCode: 'prod-a', dimensions: ['d1', 'd2'] },
      { productCode: 'prod-b', dimensions: ['x'] },
    ]);
  });

  it('parses window, seed, strict and fault rates', () => {
    const { options } = parseCliArgs([
      '--window',
      '6h',
      '--seed',
      '7',
      '--strict',
      '--throttle-rate',
      '0.2',
      '--latency',
      '10-50',
    ]);
    expect(options).toMatchObject({
      window: '6h',
      seed: 7,
      strict: true,
      faults: { throttleProbability: 0.2, latencyMillis: { min: 10, max: 50 } },
    });
  });

  it('disables the quota with --no-quota', () => {
    expect(parseCliArgs(['--no-quota']).options.faults?.quota).toBe(false);
  });

  it('parses credentials', () => {
    expect(parseCliArgs(['--credentials', 'AKID:secret']).options.credentials).toEqual([
      { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    ]);
  });

  it('rejects an unknown window', () => {
    expect(() => parseCliArgs(['--window', '2h'])).toThrow(/24h, 6h or 1h/);
  });

  it('rejects an unknown flag', () => {
    expect(() => parseCliArgs(['--bogus'])).toThrow();
  });
});

describe('parseDuration', () => {
  it('reads units', () => {
    expect([
      parseDuration('x', '500ms'),
      parseDuration('x', '30s'),
      parseDuration('x', '5m'),
      parseDuration('x', '4h'),
      parseDuration('x', '250'),
    ]).toEqual([500, 30_000, 300_000, 14_400_000, 250]);
  });
});
