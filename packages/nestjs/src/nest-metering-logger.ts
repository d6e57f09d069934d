/** MeteringLogger over Nest's Logger. */
import type { MeteringLogger } from '@meterkit/core';
import { Logger } from '@nestjs/common';

function line(message: string, context?: Record<string, unknown>): string {
  return context === undefined ? message : `${message} ${JSON.stringify(context)}`;
}

/** The engine's logging seam over Nest's `Logger`, so meterkit lines go wherever the app's logs go. */
export function nestMeteringLogger(logger: Logger = new Logger('Metering')): MeteringLogger {
  return {
    debug: (message, context) => logger.debug(line(message, context)),
    info: (message, context) => logger.log(line(message, context)),
    warn: (message, context) => logger.warn(line(message, context)),
    error: (message, context) => logger.error(line(message, context)),
  };
}
