// RedisStore option parsing: only its own keys.

import { configurationErrorOf } from '@meterkit/core/testing';
import { describe, expect, it } from 'vitest';
import { parseRedisStoreOptions } from '../src/options.js';

describe('RedisStore options', () => {
  it('rejects `toString`, which every object inherits, as an unknown option', () => {
    const error = configurationErrorOf(() => parseRedisStoreOptions({ toString: 'x' } as never));
    expect(error.code).toBe('ERR_METERING_UNKNOWN_OPTION');
    expect(error.field).toBe('toString');
  });
});
