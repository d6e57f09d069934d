/** The logging seam: `console`, {@link silentLogger}, or an adapter: `pinoLogger(pino())`, `winstonLogger(logger)`, Nest's via @meterkit/nestjs. */
export interface MeteringLogger {
  debug?(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const silentLogger: MeteringLogger = { info() {}, warn() {}, error() {} };

function line(message: string, context?: Record<string, unknown>): string {
  return context === undefined ? `meterkit: ${message}` : `meterkit: ${message} ${JSON.stringify(context)}`;
}

/** Writes to the console with a `meterkit:` prefix; debug is dropped. */
export const consoleLogger: MeteringLogger = {
  info: (message, context) => console.info(line(message, context)),
  warn: (message, context) => console.warn(line(message, context)),
  error: (message, context) => console.error(line(message, context)),
};

/**
 * Wraps a logger so a call that throws is swallowed: a broken logger must never fail a request or turn a background
 * failure into an unhandled rejection that ends the host process. The first throw is written to stderr once, so it is
 * not invisible either.
 * @internal The engine applies it to every logger it is given.
 */
export function guardLogger(logger: MeteringLogger): MeteringLogger {
  let reported = false;
  const guard =
    (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, context?: Record<string, unknown>) => {
      try {
        logger[level]?.(message, context);
      } catch (error) {
        if (reported) return;
        reported = true;
        try {
          process.stderr.write(
            `meterkit: the logger's ${level}() threw (${error instanceof Error ? error.message : String(error)}); its lines are dropped\n`,
          );
        } catch {
          // Nothing left to tell.
        }
      }
    };
  return {
    debug: guard('debug'),
    info: guard('info'),
    warn: guard('warn'),
    error: guard('error'),
  };
}
