// Start-up checks on option keys and values: only the engine's own keys, no duplicate dimensions, a product code or licenseOnly.

import { splitAdapterOptions } from '@meterkit/core/adapter';
import { configurationErrorOf, InMemorySink } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../src/engine/options.js';
import { PRODUCT } from '../helpers.js';

const sink = new InMemorySink();

describe('option keys', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'rejects `%s`, which every plain object inherits, as an unknown option',
    (key) => {
      const error = configurationErrorOf(() =>
        parseOptions({ sink, productCode: PRODUCT, [key]: 1 } as never),
      );
      expect(error.code).toBe('ERR_METERING_UNKNOWN_OPTION');
      expect(error.field).toBe(key);
    },
  );

  it('rejects a `__proto__` key parsed from JSON as an unknown option', () => {
    const input = JSON.parse('{"productCode":"prod-abc123","__proto__":{"productCode":"x"}}');
    input.sink = sink;
    const error = configurationErrorOf(() => parseOptions(input));
    expect(error.code).toBe('ERR_METERING_UNKNOWN_OPTION');
    expect(error.field).toBe('__proto__');
  });

  it('rejects an inherited key when splitting adapter options', () => {
    const error = configurationErrorOf(() =>
      splitAdapterOptions({ sink, toString: 1 }, { customer: true }, (key) => `unknown ${key}`),
    );
    expect(error.field).toBe('toString');
  });
});

describe('dimensions option', () => {
  it('rejects a dimension declared twice, naming the second index', () => {
    const error = configurationErrorOf(() =>
      parseOptions({ sink, productCode: PRODUCT, dimensions: ['api_calls', 'bytes', 'api_calls'] }),
    );
    expect(error.code).toBe('ERR_METERING_INVALID_OPTION');
    expect(error.field).toBe('dimensions[2]');
    expect(error.message).toContain('declared twice');
  });
});

describe('productCode and licenseOnly', () => {
  it('refuses to start without productCode when licenseOnly is not set, naming the field and the rule', () => {
    const error = configurationErrorOf(() => parseOptions({ sink }));
    expect(error.code).toBe('ERR_METERING_INVALID_OPTION');
    expect(error.field).toBe('productCode');
    expect(error.message).toContain('licenseOnly');
  });

  it('starts without productCode when licenseOnly is true', () => {
    expect(parseOptions({ sink, licenseOnly: true }).licenseOnly).toBe(true);
  });

  it('rejects a licenseOnly that is not a boolean', () => {
    const error = configurationErrorOf(() => parseOptions({ sink, licenseOnly: 'yes' as never }));
    expect(error.field).toBe('licenseOnly');
  });
});
