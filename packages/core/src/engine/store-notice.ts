/** The start-up line that says which store is in use, and what a restart or a crash does to usage kept there. */
import type { ResolvedMeteringOptions } from './options.js';

export function announceStore(o: Pick<ResolvedMeteringOptions, 'store' | 'sink' | 'logger'>): void {
  if (o.store.scope === 'process') {
    // A warning, not an info line: this is the one fact about the memory store that loses money on every deploy.
    o.logger.warn(
      `using the ${o.store.name} store: counts live in this process only. A RESTART WITHIN THE SAME UTC HOUR LOSES ` +
        "the later process's usage of that hour (AWS bills only the first record per customer, dimension and hour, " +
        'and this store sends its partial hour at shutdown); a crash loses unsent usage. Run ONE instance. To keep ' +
        "usage across restarts use @meterkit/sqlite (the adapters' default); for several replicas use @meterkit/redis.",
      { sink: o.sink.name },
    );
  } else if (o.store.scope === 'host') {
    o.logger.info(
      `using the ${o.store.name} store${o.store.location === undefined ? '' : ` at ${o.store.location}`}: usage not ` +
        'yet billed (the open hour included) is kept there across restarts. It must live on a disk that outlives ' +
        "this process and its container (a persistent volume, not the container's writable layer); replicas on " +
        'several hosts need @meterkit/redis.',
      { sink: o.sink.name },
    );
  } else {
    o.logger.info(
      `using the ${o.store.name} store (${o.store.scope}${o.store.location === undefined ? '' : `, ${o.store.location}`})`,
      { sink: o.sink.name },
    );
  }
}
