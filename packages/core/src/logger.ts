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
