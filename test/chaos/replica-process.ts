/** Starts and stops one chaos replica as a child process, and reads what it printed at exit. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPLICA = fileURLToPath(new URL('./replica.mjs', import.meta.url));

/** What a replica printed at a graceful exit. */
export interface ReplicaSummary {
  readonly accepted: number;
  readonly retrying: number;
  readonly deadLettered: number;
  readonly carriedForward: number;
  readonly checkpoints: number;
  readonly errors: number;
}

/**
 * One replica process (`replica.mjs`): start it, stop it with SIGTERM (graceful: it drains and checkpoints), or kill
 * it with SIGKILL. Keeps what it printed, for the report when a run fails.
 */
export class ReplicaProcess {
  port = 0;
  /** Every life of this replica's process ends here: summaries of graceful exits, events, stderr. */
  readonly summaries: ReplicaSummary[] = [];
  readonly events: unknown[] = [];
  stderr = '';
  /** Real epoch ms at which the current life started, and at which each of its checkpoints was written. */
  startedAt = 0;
  checkpoints: number[] = [];
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves with its port once it serves. */
  start(): Promise<number> {
    const child = spawn(process.execPath, [REPLICA], {
      env: { ...process.env, ...this.env, CHAOS_REPLICA: this.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.startedAt = Date.now();
    this.checkpoints = [];
    let buffered = '';
    child.stderr?.on('data', (chunk) => {
      this.stderr += chunk;
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code, signal) =>
        reject(
          new Error(`${this.name} exited (${code ?? signal}) before serving: ${this.stderr.slice(-2000)}`),
        ),
      );
      child.stdout?.on('data', (chunk) => {
        buffered += chunk;
        for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
          const line = buffered.slice(0, at);
          buffered = buffered.slice(at + 1);
          const [word, ...rest] = line.split(' ');
          const payload = rest.join(' ');
          if (word === 'READY') {
            this.port = Number(payload);
            resolve(this.port);
          } else if (word === 'CHECKPOINTED') this.checkpoints.push(Number(payload));
          else if (word === 'EVENT') this.events.push(JSON.parse(payload));
          else if (word === 'SUMMARY') this.summaries.push(JSON.parse(payload) as ReplicaSummary);
        }
      });
    });
  }

  /** SIGTERM, then waits for a clean exit (code 0). */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0)
      throw new Error(`${this.name} did not stop cleanly (exit ${code}): ${this.stderr.slice(-2000)}`);
  }

  /**
   * SIGKILL: the process dies at once, whatever it was doing. Resolves with the real time from which its counts may
   * be lost: the counts it drained for its last completed checkpoint were all there when the one before it was written
   * (checkpoints run one at a time), so everything counted since that earlier write may be gone. A checkpoint written
   * but not yet reported only makes the window larger, never smaller.
   */
  async kill(): Promise<number> {
    const child = this.child;
    const lossFrom = this.checkpoints.at(-2) ?? this.startedAt;
    if (child === undefined || !this.running) return lossFrom;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    return lossFrom;
  }
}
