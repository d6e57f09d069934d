/** Checkpointing: counts move from the tally (request path) into the store, queued and merged while the store fails. */
import type { MeteringEventEmitter } from '../model/events.js';
import type { Tally } from '../tally/tally.js';
import { yieldToEventLoop } from '../time/clock.js';
import { Lane } from './lane.js';
import type { ResolvedMeteringOptions } from './options.js';
import type { UnwrittenDeltas } from './unwritten-deltas.js';

/** Units and deltas written to the store by one checkpoint. */
interface Progress {
  units: number;
  written: number;
}

/**
 * Moves counts from the request path into the store, one checkpoint at a time (its own lane). Counts the store
 * refused stay queued in `unwritten` for the next try.
 */
export class Checkpointer {
  private readonly lane = new Lane();

  constructor(
    private readonly options: Pick<ResolvedMeteringOptions, 'store' | 'sliceSize' | 'maxLiveKeys'>,
    private readonly events: MeteringEventEmitter,
    private readonly tally: Tally,
    private readonly unwritten: UnwrittenDeltas,
    /** Hours before `before` are sealed: usage written for them is late, billed with a later hour (`usage.late`). */
    private readonly sealed: { readonly before: number },
  ) {}

  /** A checkpoint is running: the tick does not queue another behind it. */
  get busy(): boolean {
    return this.lane.busy;
  }

  /**
   * Moves counts from the request path into the store and resolves with the units written. Counts the store refused
   * stay queued for the next try, merged by key and hour; once `maxLiveKeys` of them are queued, counts stay in the
   * tally (where a repeated key costs no memory) until the store takes the backlog.
   */
  run(): Promise<number> {
    return this.lane.run(async () => {
      const progress: Progress = { units: 0, written: 0 };
      let writeFailed = false;
      const backlogFull = this.unwritten.size >= this.options.maxLiveKeys;
      if (!backlogFull)
        await this.drainTally(
          progress,
          () => writeFailed,
          () => {
            writeFailed = true;
          },
        );
      await this.writeUnwritten(progress);
      if (progress.written > 0) {
        this.events.emit('usage.checkpointed', { deltas: progress.written, units: progress.units });
      }
      return progress.units;
    });
  }

  private async drainTally(
    progress: Progress,
    writeFailed: () => boolean,
    markFailed: () => void,
  ): Promise<void> {
    await this.tally.drain(
      this.options.sliceSize,
      (deltas) => this.unwritten.push(deltas),
      async () => {
        // Write each slice as soon as it is drained: a million deltas queued until the whole drain ends would all
        // outlive young-generation collections, and each collection would copy them. After a failure the rest stays
        // queued, and the write after the drain reports it.
        if (!writeFailed()) {
          try {
            await this.writeUnwritten(progress);
          } catch {
            markFailed();
          }
        }
        await yieldToEventLoop();
      },
    );
  }

  /**
   * Writes the queued deltas to the store, oldest first, yielding between slices. When the store refuses, the queue
   * switches to merging by key and hour (so an outage holds one entry per key and hour) and the error is rethrown.
   */
  private async writeUnwritten(progress: Progress): Promise<void> {
    const o = this.options;
    for (;;) {
      const deltas = this.unwritten.next(o.sliceSize);
      if (deltas === undefined) break;
      try {
        await o.store.addDeltas(deltas);
      } catch (error) {
        this.unwritten.storeFailed();
        throw error;
      }
      this.unwritten.written(deltas);
      progress.written += deltas.length;
      let late = 0;
      for (const delta of deltas) {
        progress.units += delta.quantity;
        if (delta.hourStart < this.sealed.before) late += delta.quantity;
      }
      if (late > 0) {
        this.events.emit('usage.late', {
          fromHour: deltas[0]?.hourStart ?? 0,
          toHour: this.sealed.before,
          units: late,
        });
      }
      // A store that answers at once (memory) would otherwise write every slice without letting requests run.
      if (this.unwritten.size > 0) await yieldToEventLoop();
    }
  }
}
