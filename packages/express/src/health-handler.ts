// An Express route that answers 200 when billing is healthy and 503 with the failing checks when it is not.
import type { MeteringEngine } from '@meterkit/core';
import { MeteringHealth, type MeteringHealthOptions } from '@meterkit/core/ops';
import type { RequestHandler } from 'express';

/** Something that holds an engine: what `createMetering()` returns, or the engine itself. */
export type EngineHolder = MeteringEngine | { readonly engine: MeteringEngine };

export function engineOf(holder: EngineHolder): MeteringEngine {
  return 'engine' in holder ? holder.engine : holder;
}

/**
 * A health route for metering: `200` with the report when billing is healthy; `503` when the oldest pending record
 * nears the end of the service window, dead letters exceed their bound, or calls to the sink have failed for too
 * long. The body ({@link MeteringHealthReport}) names each check and never holds a customer identifier. Create it
 * when the app starts: it follows the sink's calls from then on.
 *
 * @example
 * ```ts
 * app.get('/health/metering', meteringHealth(metering, { maxSinkFailureMillis: 10 * 60_000 }));
 * ```
 * @throws {MeteringConfigurationError} for an invalid bound.
 */
export function meteringHealth(holder: EngineHolder, options: MeteringHealthOptions = {}): RequestHandler {
  const health = new MeteringHealth(engineOf(holder), options);
  return (_req, res, next) => {
    health.check().then(
      (report) => {
        res.status(report.healthy ? 200 : 503).json(report);
      },
      (error: unknown) => next(error),
    );
  };
}
