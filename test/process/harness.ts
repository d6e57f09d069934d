/** Runs the process tests' app scripts as child processes against an emulator in this process, and reads what they say. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from '@meterkit/emulator';

export type AdapterName = 'express' | 'nest';

/** One JSON line of an app script's stdout (see `apps/shared.mjs`). */
export type AppLine =
  | { kind: 'ready'; port: number }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; message: string; context?: Record<string, unknown> }
  | ({ kind: 'event'; name: string } & Record<string, unknown>);

/** The `left` of a `usage.unsent-at-shutdown` event, as the app printed it. */
export interface LeftPayload {
  fate: 'lost' | 'kept';
  openUnits: number;
  carriedUnits: number;
  unsentRecords: number;
  unsentUnits: number;
  unansweredRecords: number;
  unansweredUnits: number;
  unwrittenUnits: number;
  customers: number;
  store: string;
}

export const PRODUCT_CODE = 'prod-process-tests';
const APPS = fileURLToPath(new URL('./apps/', import.meta.url));

/** A running app script. */
export class AppProcess {
  readonly lines: AppLine[] = [];
  stderr = '';
  port = 0;
  /** Resolves when the process has ended: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly waiters: { test: (line: AppLine) => boolean; resolve: (line: AppLine) => void }[] = [];

  constructor(adapter: AdapterName, env: Record<string, string>) {
    this.child = spawn(process.execPath, [join(APPS, `${adapter}-app.mjs`)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout?.on('data', (chunk) => {
      buffered += chunk;
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const text = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as AppLine;
        this.lines.push(line);
        for (const waiter of [...this.waiters]) {
          if (!waiter.test(line)) continue;
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
    this.child.stderr?.on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /**
   * Resolves with the first line (already seen or to come) that passes `test`; rejects if the process ends first or
   * nothing comes within `timeoutMillis`.
   */
  waitFor(test: (line: AppLine) => boolean, what: string, timeoutMillis = 30_000): Promise<AppLine> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${timeoutMillis} ms; stderr: ${this.stderr.slice(-1500)}`)),
        timeoutMillis,
      );
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void this.exited.then(({ code, signal }) =>
        reject(
          new Error(`the app ended (${code ?? signal}) before ${what}; stderr: ${this.stderr.slice(-1500)}`),
        ),
      );
    });
  }

  async ready(): Promise<this> {
    const line = await this.waitFor((l) => l.kind === 'ready', 'serving');
    this.port = (line as { port: number }).port;
    return this;
  }

  /** Sends `count` metered requests for `customer`; returns how many were served (200). */
  async serve(customer: string, count: number): Promise<number> {
    let served = 0;
    for (let i = 0; i < count; i++) {
      const response = await fetch(`http://127.0.0.1:${this.port}/api`, {
        headers: { 'x-customer': customer },
      });
      await response.arrayBuffer();
      if (response.status === 200) served += 1;
    }
    return served;
  }

  event(name: string): Record<string, unknown> | undefined {
    return this.lines.find((l) => l.kind === 'event' && l.name === name) as
      | Record<string, unknown>
      | undefined;
  }

  left(): LeftPayload | undefined {
    return this.event('usage.unsent-at-shutdown')?.left as LeftPayload | undefined;
  }

  logs(level: 'info' | 'warn' | 'error'): string[] {
    return this.lines.flatMap((l) => (l.kind === 'log' && l.level === level ? [l.message] : []));
  }

  /** SIGTERM, then the exit. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** A scratch directory for store files, and the emulator the apps send to. */
export class ProcessWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'meterkit-process-'));
  private readonly apps: AppProcess[] = [];

  private constructor(
    readonly emulator: Emulator,
    /** Simulated time: `now` at the real instant `setAt`, running at real speed since. */
    private readonly time: { now: number; setAt: number },
  ) {}

  static async start(): Promise<ProcessWorld> {
    const time = { now: Date.now(), setAt: Date.now() };
    const emulator = await startEmulator({
      now: () => time.now + (Date.now() - time.setAt),
      products: [{ productCode: PRODUCT_CODE, dimensions: ['api_calls'] }],
    });
    return new ProcessWorld(emulator, time);
  }

  private clock(): number {
    return this.time.now + (Date.now() - this.time.setAt);
  }

  /** Moves simulated time (for the emulator and the apps started after this) to `epochMillis`. */
  setTime(epochMillis: number): void {
    this.time.now = epochMillis;
    this.time.setAt = Date.now();
  }

  /** Starts an app script on the world's clock, sending to the emulator (or to `endpoint`). */
  async app(
    adapter: AdapterName,
    options: { store: 'default' | 'memory' | 'sqlite'; endpoint?: string; shutdownMillis?: number },
  ): Promise<AppProcess> {
    const app = new AppProcess(adapter, {
      PROC_EMULATOR: options.endpoint ?? this.emulator.endpoint,
      PROC_STORE: options.store,
      PROC_NOW: String(this.clock()),
      PROC_SHUTDOWN_MILLIS: String(options.shutdownMillis ?? 1_500),
      METERKIT_STORE_PATH: join(this.dir, 'usage.sqlite'),
    });
    this.apps.push(app);
    return app.ready();
  }

  /** Units the emulator billed, in total. */
  billed(): number {
    return this.emulator.ledger.records().reduce((sum, r) => sum + r.quantity, 0);
  }

  async close(): Promise<void> {
    for (const app of this.apps) app.kill();
    await Promise.all(this.apps.map((a) => a.exited));
    await this.emulator.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An endpoint nothing listens on: a port that was just free. */
export async function unreachableEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
