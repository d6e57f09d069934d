/** installShutdownHooks(): drains the server and the metering on the first SIGTERM or SIGINT, then exits. */
import type { Server } from 'node:http';
import { exitCodeFor, type FlushReport } from '@meterkit/core';

/** What {@link installShutdownHooks} needs from a metering: its shutdown. */
export interface ShutdownTarget {
  shutdown(options: { server?: Server; timeoutMillis?: number }): Promise<FlushReport>;
}

/** Options of {@link installShutdownHooks}. */
export interface ShutdownHookOptions {
  /** Signals that start the drain. @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** Bound on the whole drain (server close, then the final send). @default the engine's `shutdownTimeoutMillis` */
  timeoutMillis?: number;
  /** Runs after the drain and before the process ends, e.g. to close a database. Errors are logged by the caller. */
  afterShutdown?: (report: FlushReport | undefined, signal: NodeJS.Signals) => void | Promise<void>;
  /**
   * Ends the process once drained. The default exits with `UNSENT_USAGE_EXIT_CODE` (3) when usage was left unbilled
   * and is lost with the process (see `exitCodeFor` in `@meterkit/core`); otherwise it re-raises the signal with the
   * hooks removed, so the process ends the way it would have without them (exit code 128 + signal number), as process
   * managers expect. `report` is undefined when the drain itself failed.
   */
  exit?: (signal: NodeJS.Signals, report: FlushReport | undefined) => void;
  /** Where signals come from. @default process */
  emitter?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Where a failed drain is reported. @default console.error */
  onError?: (error: unknown) => void;
}

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight responses finish (they are counted), send what was
 * counted (with the memory store, the open hour too), then end the process, with a non-zero code when usage was lost.
 * The process stays alive until the drain ends or its timeout passes. A second signal during the drain ends the
 * process at once (the hooks are removed as soon as the first one arrives). Returns a function that removes the hooks.
 *
 * @example
 * ```ts
 * const server = app.listen(3000);
 * installShutdownHooks(server, metering, { timeoutMillis: 20_000 });
 * ```
 */
export function installShutdownHooks(
  server: Server,
  metering: ShutdownTarget,
  options: ShutdownHookOptions = {},
): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const emitter = options.emitter ?? process;
  const exit =
    options.exit ??
    ((signal: NodeJS.Signals, report: FlushReport | undefined) => {
      const code = report === undefined ? 1 : exitCodeFor(report);
      if (code !== undefined) process.exit(code);
      else process.kill(process.pid, signal);
    });
  const onError = options.onError ?? ((error: unknown) => console.error('meterkit: shutdown failed', error));
  const uninstall = () => {
    for (const signal of signals) emitter.off(signal, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    uninstall();
    void (async () => {
      let report: FlushReport | undefined;
      try {
        report = await metering.shutdown({
          server,
          ...(options.timeoutMillis !== undefined && { timeoutMillis: options.timeoutMillis }),
        });
      } catch (error) {
        onError(error);
      }
      try {
        await options.afterShutdown?.(report, signal);
      } catch (error) {
        onError(error);
      }
      exit(signal, report);
    })();
  }
  for (const signal of signals) emitter.on(signal, onSignal);
  return uninstall;
}
