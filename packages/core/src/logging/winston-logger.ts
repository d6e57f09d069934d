// The engine's logging seam over a winston logger (message first, then the metadata object).
import type { MeteringLogger } from './logger.js';

/** The part of a winston logger meterkit calls. */
export interface WinstonLike {
  debug(message: string, meta: object): unknown;
  info(message: string, meta: object): unknown;
  warn(message: string, meta: object): unknown;
  error(message: string, meta: object): unknown;
}

/**
 * Adapts a winston logger: `logger: winstonLogger(winston.createLogger({ ... }))`. The context becomes winston
 * metadata, so JSON formats keep each field (an `Error` context value would otherwise be flattened by a string join).
 */
export function winstonLogger(logger: WinstonLike): MeteringLogger {
  return {
    debug: (message, context) => logger.debug(message, context ?? {}),
    info: (message, context) => logger.info(message, context ?? {}),
    warn: (message, context) => logger.warn(message, context ?? {}),
    error: (message, context) => logger.error(message, context ?? {}),
  };
}
