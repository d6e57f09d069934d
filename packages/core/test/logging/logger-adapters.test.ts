// The pino and winston adapters against the real libraries: message and context both reach the log line.
import { Writable } from 'node:stream';
import { pinoLogger, winstonLogger } from '@meterkit/core';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import winston from 'winston';

/** A stream that keeps each JSON line written to it. */
function jsonLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

describe('pinoLogger', () => {
  it('writes the context fields and the message (pino takes the object first)', () => {
    const { stream, lines } = jsonLines();
    const logger = pinoLogger(pino({ level: 'debug' }, stream));
    logger.warn('send failed, retrying', { batch: 3, code: 'ThrottlingException' });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'send failed, retrying',
        batch: 3,
        code: 'ThrottlingException',
      }),
    ]);
  });

  it('maps each level to the pino level of the same name', () => {
    const { stream, lines } = jsonLines();
    const logger = pinoLogger(pino({ level: 'debug' }, stream));
    logger.debug?.('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e', { dimension: 'api_calls' });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [20, 'd'],
      [30, 'i'],
      [40, 'w'],
      [50, 'e'],
    ]);
  });
});

describe('winstonLogger', () => {
  it('writes the context as metadata beside the message and level', () => {
    const { stream, lines } = jsonLines();
    const logger = winstonLogger(
      winston.createLogger({
        level: 'debug',
        format: winston.format.json(),
        transports: [new winston.transports.Stream({ stream })],
      }),
    );
    logger.debug?.('checkpoint written', { records: 12 });
    logger.error('dead letter', { reason: 'not-subscribed', dimension: 'api_calls' });
    expect(lines).toEqual([
      { level: 'debug', message: 'checkpoint written', records: 12 },
      { level: 'error', message: 'dead letter', reason: 'not-subscribed', dimension: 'api_calls' },
    ]);
  });
});
