// installShutdownHooks(): the first SIGTERM or SIGINT drains the server and the metering, then exits with that signal.
import { EventEmitter } from 'node:events';
import type { FlushReport } from '@meterkit/core';
import { describe, expect, it } from 'vitest';
import { installShutdownHooks } from '../src/index.js';
import { listen } from './helpers/listen.js';
import { setup } from './helpers/setup.js';

describe('installShutdownHooks()', () => {
  it('drains on the first signal, then runs afterShutdown and exits with that signal', async () => {
    const { app, metering } = setup();
    const server = await listen(app);
    const signals = new EventEmitter();
    const steps: string[] = [];
    const exited = new Promise<string>((resolve) => {
      installShutdownHooks(server, metering, {
        emitter: signals as never,
        afterShutdown: (report: FlushReport | undefined, signal) => {
          steps.push(`after ${signal} ${report === undefined ? 'no report' : 'report'}`);
        },
        exit: (signal) => resolve(signal),
      });
    });
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(steps).toEqual(['after SIGTERM report']);
    expect(server.listening).toBe(false);
    expect((await metering.stats()).state).toBe('stopped');
  });

  it('removes its listeners on the first signal, so a second one takes the default action', async () => {
    const { app, metering } = setup();
    const server = await listen(app);
    const signals = new EventEmitter();
    installShutdownHooks(server, metering, { emitter: signals as never, exit: () => undefined });
    expect(signals.listenerCount('SIGINT')).toBe(1);
    signals.emit('SIGINT', 'SIGINT');
    expect([signals.listenerCount('SIGINT'), signals.listenerCount('SIGTERM')]).toEqual([0, 0]);
    await metering.shutdown();
  });
});
