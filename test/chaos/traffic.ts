/** The chaos run's request traffic: routes, customers, and a log of every request as it ended. */
import { Agent, request } from 'node:http';
import { seededRandom } from '@meterkit/core/testing';

/** One request the harness made, as it ended. */
export interface ServedRequest {
  readonly replica: string;
  readonly customer: number;
  readonly dimension: string;
  readonly units: number;
  /** Real epoch milliseconds when the answer (or the failure) came back. */
  readonly at: number;
  /** 2xx: served (and billable). */
  readonly ok: boolean;
  /** The connection failed: the replica may or may not have served (and counted) it. */
  readonly failed: boolean;
}

/** A route the traffic uses: what it bills when it succeeds. */
interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly dimension: string;
  readonly units: number;
  readonly weight: number;
}

const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api', dimension: 'api_calls', units: 1, weight: 70 },
  { method: 'POST', path: '/reports', dimension: 'reports', units: 3, weight: 25 },
  { method: 'GET', path: '/fail', dimension: 'api_calls', units: 1, weight: 5 },
];

/** The route whose share of the traffic (by weight, out of 100) `roll` falls in. */
function pickRoute(roll: number): Route {
  let rest = roll;
  for (const route of ROUTES) {
    rest -= route.weight;
    if (rest < 0) return route;
  }
  return ROUTES[0] as Route;
}

interface Target {
  readonly name: string;
  port: number;
  /** Taking new requests. */
  open: boolean;
  inFlight: number;
}

/**
 * Drives metered HTTP traffic at the replicas that are open, from `concurrency` workers, and logs every request.
 * Replicas can be drained (no new requests; wait for the ones in flight) before a graceful stop.
 */
export class Traffic {
  readonly log: ServedRequest[] = [];
  private readonly targets = new Map<string, Target>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly random: () => number;
  private running = false;
  private workers: Promise<void>[] = [];
  private next = 0;

  constructor(
    private readonly customers: number,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  /** Sends new requests to `name` on `port`. */
  open(name: string, port: number): void {
    const target = this.targets.get(name);
    if (target === undefined) this.targets.set(name, { name, port, open: true, inFlight: 0 });
    else Object.assign(target, { port, open: true });
  }

  /** Stops sending to `name` and waits until its requests in flight have answered. */
  async drain(name: string): Promise<void> {
    const target = this.targets.get(name);
    if (target === undefined) return;
    target.open = false;
    while (target.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Stops sending to `name` at once (its requests in flight will fail when it dies). */
  close(name: string): void {
    const target = this.targets.get(name);
    if (target !== undefined) target.open = false;
  }

  start(concurrency: number): void {
    this.running = true;
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.agent.destroy();
  }

  private async work(): Promise<void> {
    while (this.running) {
      const open = [...this.targets.values()].filter((t) => t.open);
      if (open.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      const target = open[this.next++ % open.length] as Target;
      const customer = Math.floor(this.random() * this.customers);
      const route = pickRoute(this.random() * 100);
      target.inFlight += 1;
      const outcome = await this.send(target.port, route, customer);
      target.inFlight -= 1;
      this.log.push({
        replica: target.name,
        customer,
        dimension: route.dimension,
        units: route.units,
        at: Date.now(),
        ok: outcome === 'ok',
        failed: outcome === 'failed',
      });
    }
  }

  private send(port: number, route: Route, customer: number): Promise<'ok' | 'not-served' | 'failed'> {
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: route.method,
          path: route.path,
          agent: this.agent,
          headers: { 'x-customer': String(customer) },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve(res.statusCode !== undefined && res.statusCode < 300 ? 'ok' : 'not-served'),
          );
          res.on('error', () => resolve('failed'));
        },
      );
      // A refused connection never reached the app; anything else may have been served before the process died.
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve(error.code === 'ECONNREFUSED' ? 'not-served' : 'failed'),
      );
      req.end();
    });
  }
}
