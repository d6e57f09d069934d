// The engine's logging seam over a pino logger, which takes the context object first.
import type { MeteringLogger } from './logger.js';

/** The part of a pino logger meterkit calls (pino's methods take the merge object first, then the message). */
export interface PinoLike {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/**
 * Adapts a pino logger: `logger: pinoLogger(pino().child({ module: 'meterkit' }))`. Passing `pino()` straight as
 * `logger` would print the message and drop the context, since pino reads its first argument as the object to merge.
 */
export function pinoLogger(logger: PinoLike): MeteringLogger {
  return {
    debug: (message, context) => logger.debug(context ?? {}, message),
    info: (message, context) => logger.info(context ?? {}, message),
    warn: (message, context) => logger.warn(context ?? {}, message),
    error: (message, context) => logger.error(context ?? {}, message),
  };
}
