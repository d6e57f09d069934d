import { EventEmitter } from 'node:events';
import type { RawResponse } from '@meterkit/core/http';
import { describe, expect, it } from 'vitest';
import { rawResponseOf } from '../src/raw-response.js';

describe('rawResponseOf()', () => {
  it('finds the raw response behind a Fastify reply and takes an Express response as it is, in any order', () => {
    class ExpressResponse extends EventEmitter {
      statusCode = 200;
    }
    class FastifyReply {
      constructor(readonly raw: RawResponse) {}
    }
    const express = [new ExpressResponse(), new ExpressResponse()] as unknown as RawResponse[];
    const inner = new ExpressResponse() as unknown as RawResponse;
    const reply = new FastifyReply(inner) as unknown as RawResponse;
    expect(rawResponseOf(express[0] as RawResponse)).toBe(express[0]);
    expect(rawResponseOf(reply)).toBe(inner);
    expect(rawResponseOf(express[1] as RawResponse)).toBe(express[1]);
    expect(rawResponseOf(reply)).toBe(inner);
  });
});
