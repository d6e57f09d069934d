/** The request-path counter: per hour, dimension and customer, in typed arrays, drained by the checkpoint. */
import type { CustomerRef } from '../model/customer.js';
import type { MeteringEventEmitter, UsageRejectionReason } from '../model/events.js';
import { checkRule } from '../model/service-rules.js';
import { keyIdFor, MAX_RECORD_QUANTITY } from '../model/usage-key.js';
import { checkTags, tagSetIdOf, type UsageTags } from '../model/usage-tags.js';
import type { UsageDelta } from '../store/usage-store.js';
import { hourStartOf } from '../time/hours.js';

const INITIAL_SLOTS = 64;
/**
 * A key stays live (its next request pays no new-key cost) until it has been idle for this many checkpoints in a row
 * (a minute at the default 1 s), or until the hour rolls; near `maxLiveKeys`, after one. Evicting after one idle checkpoint made customers who call
 * every few seconds pay the new-key path (validation, Map insert) on almost every request.
 */
const IDLE_CHECKPOINTS_BEFORE_EVICTION = 60;

/**
 * Counters of one dimension in one generation. A key lives in a slot: `index` maps the customer's primary id (license
 * ARN or customer identifier) to the slot, `counts[slot]` holds the running total. A repeated key therefore costs one
 * Map lookup, one identity check and one add on a typed array: no allocation.
 */
class DimensionCounters {
  readonly index = new Map<string, number>();
  /** Keys whose primary id is shared with another customer ref (should not happen; kept correct anyway). */
  readonly collisions = new Map<string, number>();
  refs: (CustomerRef | undefined)[] = [];
  productCodes: string[] = [];
  counts = new Float64Array(INITIAL_SLOTS);
  /** Checkpoints in a row that found the slot's count at zero. */
  idleCheckpoints = new Uint8Array(INITIAL_SLOTS);
  readonly free: number[] = [];
  highWater = 0;

  constructor(readonly dimension: string) {}

  allocate(customer: CustomerRef, productCode: string): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.highWater++;
      if (slot >= this.counts.length) {
        const grown = new Float64Array(this.counts.length * 2);
        grown.set(this.counts);
        this.counts = grown;
        const grownIdle = new Uint8Array(grown.length);
        grownIdle.set(this.idleCheckpoints);
        this.idleCheckpoints = grownIdle;
      }
    }
    this.refs[slot] = customer;
    this.productCodes[slot] = productCode;
    this.counts[slot] = 0;
    this.idleCheckpoints[slot] = 0;
    return slot;
  }

  release(slot: number): void {
    this.refs[slot] = undefined;
    this.free.push(slot);
  }

  /**
   * The running count of `slot`. Every slot comes from allocate(), which grows `counts` before handing it out, so the
   * read is always in range.
   */
  countOf(slot: number): number {
    return this.counts[slot]!;
  }

  /** Counts one more idle checkpoint for `slot` and returns how many in a row (in range: see {@link countOf}). */
  idleOnce(slot: number): number {
    const idle = this.idleCheckpoints[slot]! + 1;
    this.idleCheckpoints[slot] = idle;
    return idle;
  }

  keyIdOf(slot: number): string {
    return keyIdFor(this.refs[slot] as CustomerRef, this.dimension, this.productCodes[slot] as string);
  }
}

/**
 * A running count above this moves out of its slot into a delta of its own (see {@link Tally.spill}): adding one more
 * call (at most {@link MAX_RECORD_QUANTITY}) then still gives an integer a double holds exactly. A count reaches it
 * only after about four million calls of the maximum within one checkpoint, so the request path pays one comparison.
 */
export const TALLY_SPILL_AT = Number.MAX_SAFE_INTEGER - MAX_RECORD_QUANTITY;

/** All counters for one UTC hour. The tally swaps generations at the hour boundary and when full. */
class Generation {
  readonly dims = new Map<string, DimensionCounters>();
  liveKeys = 0;
  constructor(readonly hourStart: number) {}
}

function sameCustomer(a: CustomerRef | undefined, b: CustomerRef): boolean {
  return (
    a !== undefined &&
    a.licenseArn === b.licenseArn &&
    a.awsAccountId === b.awsAccountId &&
    a.customerIdentifier === b.customerIdentifier &&
    a.productCode === b.productCode
  );
}

/** Tagged usage of one hour, key and tag set (`tags` is its tag set id). */
interface TaggedEntry {
  keyId: string;
  hourStart: number;
  quantity: number;
  tags: string;
}

/** Settings the tally needs from the engine's options. */
export interface TallySettings {
  readonly productCode: string | undefined;
  /** Every customer is a license (Concurrent Agreements) customer; no product code is needed. */
  readonly licenseOnly?: boolean;
  readonly dimensions: readonly string[] | undefined;
  readonly maxLiveKeys: number;
  readonly onMaxLiveKeys: 'checkpoint' | 'reject';
}

/**
 * The request-path counter. `record()` is synchronous, does no I/O, never throws, and allocates nothing for a key it
 * has seen this hour. Counts leave it only through {@link Tally.drain}, run by the engine off the request path.
 */
export class Tally {
  private current: Generation;
  private readonly retired: Generation[] = [];
  /**
   * Usage recorded with an explicit time outside the current hour, keyed by hour and key. Its keys count against
   * `maxLiveKeys` with the current generation's.
   */
  private timed = new Map<string, { keyId: string; hourStart: number; quantity: number }>();
  /** Timed maps set aside when full under the `checkpoint` policy, drained by the next {@link drain}. */
  private retiredTimed: Map<string, { keyId: string; hourStart: number; quantity: number }>[] = [];
  /**
   * Tagged usage, keyed by hour, key and tag set: kept apart so untagged `record()` never pays for tags. Its entries
   * count against `maxLiveKeys` like timed ones.
   */
  private tagged = new Map<string, TaggedEntry>();
  /** Tagged maps set aside when full under the `checkpoint` policy, drained by the next {@link drain}. */
  private retiredTagged: Map<string, TaggedEntry>[] = [];
  /** Counts moved out of a slot, timed or tagged entry before they could outgrow exact integer maths. */
  private spilled: UsageDelta[] = [];
  private stopped = false;
  private fullSignalled = false;

  constructor(
    private readonly settings: TallySettings,
    private readonly events: MeteringEventEmitter,
    hourStart: number,
    /** Called once when the tally fills up under the `checkpoint` policy, so the engine checkpoints early. */
    private readonly onFull: () => void,
  ) {
    this.current = this.newGeneration(hourStart);
  }

  get hourStart(): number {
    return this.current.hourStart;
  }

  /** Keys held on the request path: the current hour's, those recorded for other hours and tagged ones. */
  get liveKeys(): number {
    return this.current.liveKeys + this.timed.size + this.tagged.size;
  }

  /**
   * Counts `quantity` units of `dimension` for `customer`. Returns false (and emits `usage.rejected`) when nothing was
   * counted.
   */
  record(customer: CustomerRef, dimension: string, quantity = 1, at?: number, tags?: UsageTags): boolean {
    // `q | 0` is q only for an int32: with `q >= 0`, exactly the service's per-record range 0..2,147,483,647.
    if (quantity !== 1 && ((quantity | 0) !== quantity || quantity < 0)) {
      return this.reject(
        'invalid-quantity',
        dimension,
        quantity,
        `quantity must be an integer from 0 to ${MAX_RECORD_QUANTITY} (the most one usage record carries)`,
      );
    }
    if (this.stopped) return this.reject('shut-down', dimension, quantity, 'the engine is shutting down');
    if (tags !== undefined) return this.recordTagged(customer, dimension, quantity, at, tags);
    if (at !== undefined) return this.recordAt(customer, dimension, quantity, at);
    const counters = this.current.dims.get(dimension);
    if (counters === undefined) return this.recordNewDimension(customer, dimension, quantity);
    if (customer == null) return this.reject('missing-customer', dimension, quantity, 'no customer');
    const id = customer.licenseArn ?? customer.customerIdentifier;
    const slot = counters.index.get(id as string);
    if (
      slot === undefined ||
      (counters.refs[slot] !== customer && !sameCustomer(counters.refs[slot], customer))
    ) {
      return this.recordNewKey(counters, customer, id, quantity);
    }
    // `slot` came from `index`: in range, since allocate() grows `counts` before handing a slot out.
    const total = counters.counts[slot]! + quantity;
    counters.counts[slot] = total;
    // TALLY_SPILL_AT as a literal: the request path pays one comparison with a constant, not a module-binding load.
    if (total > 9_007_197_107_257_344) this.spill(counters, slot);
    return true;
  }

  /**
   * Whether `record(customer, dimension)` would count now. Adapters call it before the handler only under the `reject`
   * policy, to answer 503 instead of serving usage they could not bill.
   */
  admits(customer: CustomerRef, dimension: string): boolean {
    if (this.stopped) return false;
    if (this.settings.onMaxLiveKeys !== 'reject' || this.liveKeys < this.settings.maxLiveKeys) return true;
    const id = customer?.licenseArn ?? customer?.customerIdentifier;
    return id !== undefined && this.current.dims.get(dimension)?.index.has(id) === true;
  }

  /** Stops counting (shutdown); later calls emit `usage.rejected` with reason `shut-down`. */
  stop(): void {
    this.stopped = true;
  }

  /** Starts a new generation when `hourStart` moved; the old one is drained by the next {@link drain}. */
  rollTo(hourStart: number): void {
    if (hourStart === this.current.hourStart) return;
    this.retired.push(this.current);
    this.current = this.newGeneration(hourStart);
  }

  /**
   * Moves counts out, in slices of at most `sliceSize` keys, calling `emit` with each slice's deltas (synchronously,
   * so a slice is read and zeroed atomically with respect to `record()`). Keys idle for a minute of checkpoints are
   * evicted.
   * `yieldBetween` runs between slices so a million keys never block the event loop in one go.
   */
  async drain(
    sliceSize: number,
    emit: (deltas: UsageDelta[]) => void,
    yieldBetween: () => Promise<void>,
  ): Promise<void> {
    if (this.spilled.length > 0) {
      const spilled = this.spilled;
      this.spilled = [];
      emit(spilled);
    }
    const timedMaps = [...this.retiredTimed, this.timed];
    this.retiredTimed = [];
    this.timed = new Map();
    for (const timed of timedMaps) if (timed.size > 0) emit([...timed.values()]);
    const taggedMaps = [...this.retiredTagged, this.tagged];
    this.retiredTagged = [];
    this.tagged = new Map();
    for (const tagged of taggedMaps) if (tagged.size > 0) emit([...tagged.values()]);
    for (;;) {
      const generation = this.retired[0];
      if (generation === undefined) break;
      await this.drainGeneration(generation, false, sliceSize, emit, yieldBetween);
      this.retired.shift();
    }
    await this.drainGeneration(this.current, true, sliceSize, emit, yieldBetween);
    this.fullSignalled = false;
  }

  private async drainGeneration(
    generation: Generation,
    evictIdle: boolean,
    sliceSize: number,
    emit: (deltas: UsageDelta[]) => void,
    yieldBetween: () => Promise<void>,
  ): Promise<void> {
    const hourStart = generation.hourStart;
    // Near the bound, idle keys make room at once instead of after a minute.
    const evictAfter =
      generation.liveKeys >= this.settings.maxLiveKeys * 0.9 ? 1 : IDLE_CHECKPOINTS_BEFORE_EVICTION;
    let slice: UsageDelta[] = [];
    let visited = 0;
    for (const counters of [...generation.dims.values()]) {
      for (const indexMap of [counters.index, counters.collisions]) {
        for (const [id, slot] of indexMap) {
          const quantity = counters.countOf(slot);
          if (quantity > 0) {
            slice.push({ keyId: counters.keyIdOf(slot), hourStart, quantity });
            counters.counts[slot] = 0;
            counters.idleCheckpoints[slot] = 0;
          } else if (evictIdle && counters.idleOnce(slot) >= evictAfter) {
            indexMap.delete(id);
            counters.release(slot);
            generation.liveKeys -= 1;
          }
          if (++visited >= sliceSize) {
            visited = 0;
            if (slice.length > 0) emit(slice);
            slice = [];
            await yieldBetween();
          }
        }
      }
    }
    if (slice.length > 0) emit(slice);
  }

  private newGeneration(hourStart: number): Generation {
    const generation = new Generation(hourStart);
    for (const dimension of this.settings.dimensions ?? []) {
      generation.dims.set(dimension, new DimensionCounters(dimension));
    }
    return generation;
  }

  private reject(reason: UsageRejectionReason, dimension: unknown, quantity: unknown, detail: string): false {
    this.events.emit('usage.rejected', { reason, dimension, quantity, detail });
    return false;
  }

  private recordNewDimension(customer: CustomerRef, dimension: string, quantity: number): boolean {
    const broken = checkRule('dimension', dimension);
    if (broken !== undefined)
      return this.reject('invalid-dimension', dimension, quantity, `dimension must be ${broken}`);
    if (this.settings.dimensions !== undefined) {
      return this.reject('undeclared-dimension', dimension, quantity, 'not one of the declared dimensions');
    }
    if (customer == null) return this.reject('missing-customer', dimension, quantity, 'no customer');
    const counters = new DimensionCounters(dimension);
    this.current.dims.set(dimension, counters);
    const id = customer.licenseArn ?? customer.customerIdentifier;
    return this.recordNewKey(counters, customer, id, quantity);
  }

  private recordNewKey(
    counters: DimensionCounters,
    customer: CustomerRef,
    id: string | undefined,
    quantity: number,
  ) {
    const problem = this.checkCustomer(customer);
    if (problem !== undefined) return this.reject('invalid-customer', counters.dimension, quantity, problem);
    const productCode = this.productCodeOf(customer);
    if (this.liveKeys >= this.settings.maxLiveKeys && !this.makeRoom()) {
      return this.reject(
        'max-live-keys',
        counters.dimension,
        quantity,
        `more than ${this.settings.maxLiveKeys} live keys`,
      );
    }
    // makeRoom() may have started a new generation: count into the current one.
    const target = this.current.dims.get(counters.dimension) ?? this.addDimension(counters.dimension);
    const existing = target.index.get(id as string);
    let slot: number | undefined;
    if (existing === undefined) {
      slot = target.allocate(customer, productCode);
      target.index.set(id as string, slot);
      this.current.liveKeys += 1;
    } else if (sameCustomer(target.refs[existing], customer)) {
      slot = existing;
    } else {
      const collisionKey = JSON.stringify([customer.awsAccountId, id, productCode]);
      slot = target.collisions.get(collisionKey);
      if (slot === undefined) {
        slot = target.allocate(customer, productCode);
        target.collisions.set(collisionKey, slot);
        this.current.liveKeys += 1;
      }
    }
    const total = target.countOf(slot) + quantity;
    target.counts[slot] = total;
    if (total > TALLY_SPILL_AT) this.spill(target, slot);
    return true;
  }

  /**
   * Moves a slot's count out into a delta of its own before one more call could take it past exact integer maths.
   * The slot counts on from zero; both reach the store, which adds them exactly.
   */
  private spill(counters: DimensionCounters, slot: number): void {
    this.spilled.push({
      keyId: counters.keyIdOf(slot),
      hourStart: this.current.hourStart,
      quantity: counters.countOf(slot),
    });
    counters.counts[slot] = 0;
  }

  /** The product a customer's usage is keyed under: its own, the engine's, or none for a license-only engine. */
  private productCodeOf(customer: CustomerRef): string {
    return customer.productCode ?? this.settings.productCode ?? '';
  }

  private addDimension(dimension: string): DimensionCounters {
    const counters = new DimensionCounters(dimension);
    this.current.dims.set(dimension, counters);
    return counters;
  }

  /** At `maxLiveKeys`: under `checkpoint`, retire the full generation (drained soon) and go on; under `reject`, refuse. */
  private makeRoom(): boolean {
    if (!this.fullSignalled) {
      this.fullSignalled = true;
      this.events.emit('tally.full', {
        liveKeys: this.liveKeys,
        policy: this.settings.onMaxLiveKeys,
      });
      if (this.settings.onMaxLiveKeys === 'checkpoint') this.onFull();
    }
    if (this.settings.onMaxLiveKeys === 'reject') return false;
    this.retired.push(this.current);
    this.current = this.newGeneration(this.current.hourStart);
    if (this.timed.size > 0) {
      this.retiredTimed.push(this.timed);
      this.timed = new Map();
    }
    if (this.tagged.size > 0) {
      this.retiredTagged.push(this.tagged);
      this.tagged = new Map();
    }
    return true;
  }

  private recordAt(customer: CustomerRef, dimension: string, quantity: number, at: number): boolean {
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      return this.reject('invalid-time', dimension, quantity, '`at` must be a finite epoch-millisecond time');
    }
    const hourStart = hourStartOf(at);
    if (hourStart === this.current.hourStart) return this.record(customer, dimension, quantity);
    const keyId = this.checkedKeyId(customer, dimension, quantity);
    if (keyId === undefined) return false;
    // Nothing to bill: keep it out of the store, or the hour would seal an empty record for this key.
    if (quantity === 0) return true;
    return this.addOffSlot(this.timed, `${hourStart}\n${keyId}`, { keyId, hourStart, quantity }, dimension);
  }

  /**
   * Tagged usage: checked like a new key each time (tags vary per call), summed per hour, key and tag set, and handed
   * to the store at the next checkpoint, where it joins the key's one record for the hour as an allocation.
   */
  private recordTagged(
    customer: CustomerRef,
    dimension: string,
    quantity: number,
    at: number | undefined,
    tags: UsageTags,
  ): boolean {
    const problem = checkTags(tags);
    if (problem !== undefined) {
      this.events.emit('usage.tags-dropped', { dimension, quantity, detail: problem });
      return this.record(customer, dimension, quantity, at);
    }
    const tagSetId = tagSetIdOf(tags);
    if (tagSetId === '') return this.record(customer, dimension, quantity, at);
    if (at !== undefined && (typeof at !== 'number' || !Number.isFinite(at))) {
      return this.reject('invalid-time', dimension, quantity, '`at` must be a finite epoch-millisecond time');
    }
    const keyId = this.checkedKeyId(customer, dimension, quantity);
    if (keyId === undefined) return false;
    if (quantity === 0) return true;
    const hourStart = at === undefined ? this.current.hourStart : hourStartOf(at);
    const mapKey = `${hourStart}\n${keyId}\n${tagSetId}`;
    return this.addOffSlot(this.tagged, mapKey, { keyId, hourStart, quantity, tags: tagSetId }, dimension);
  }

  /**
   * Adds `usage` to its entry in a map off the slot path (timed or tagged usage): a sum about to outgrow exact integer
   * maths moves to `spilled`, and a new entry counts against `maxLiveKeys` like a new slot.
   */
  private addOffSlot<E extends UsageDelta & { quantity: number }>(
    map: Map<string, E>,
    mapKey: string,
    usage: E,
    dimension: string,
  ): boolean {
    const entry = map.get(mapKey);
    if (entry !== undefined) {
      entry.quantity += usage.quantity;
      if (entry.quantity > TALLY_SPILL_AT) {
        this.spilled.push(entry);
        map.delete(mapKey);
      }
      return true;
    }
    if (this.liveKeys >= this.settings.maxLiveKeys && !this.makeRoom()) {
      return this.reject(
        'max-live-keys',
        dimension,
        usage.quantity,
        `more than ${this.settings.maxLiveKeys} live keys`,
      );
    }
    map.set(mapKey, usage);
    return true;
  }

  /** The key id of usage off the slot path (timed or tagged), or undefined after rejecting it. */
  private checkedKeyId(customer: CustomerRef, dimension: string, quantity: number): string | undefined {
    if (customer == null) {
      this.reject('missing-customer', dimension, quantity, 'no customer');
      return undefined;
    }
    const broken = checkRule('dimension', dimension);
    if (broken !== undefined) {
      this.reject('invalid-dimension', dimension, quantity, `dimension must be ${broken}`);
      return undefined;
    }
    if (this.settings.dimensions !== undefined && !this.settings.dimensions.includes(dimension)) {
      this.reject('undeclared-dimension', dimension, quantity, 'not one of the declared dimensions');
      return undefined;
    }
    const problem = this.checkCustomer(customer);
    if (problem !== undefined) {
      this.reject('invalid-customer', dimension, quantity, problem);
      return undefined;
    }
    return keyIdFor(customer, dimension, this.productCodeOf(customer));
  }

  /** Why a customer ref cannot be billed, or undefined. Runs once per new key, never for a repeated one. */
  private checkCustomer(customer: CustomerRef): string | undefined {
    if (customer == null || typeof customer !== 'object') return 'customer must be a CustomerRef object';
    const productCode = customer.productCode ?? this.settings.productCode;
    if (productCode === undefined) {
      if (!this.settings.licenseOnly)
        return 'productCode is missing (set it on the customer or the `productCode` option)';
    } else {
      const brokenProduct = checkRule('productCode', productCode);
      if (brokenProduct !== undefined) return `productCode must be ${brokenProduct}`;
    }
    if (customer.licenseArn !== undefined || customer.awsAccountId !== undefined) {
      if (customer.customerIdentifier !== undefined) {
        return 'a customer has either customerIdentifier (legacy) or awsAccountId + licenseArn, never both';
      }
      const account = checkRule('awsAccountId', customer.awsAccountId);
      if (account !== undefined) return `awsAccountId must be ${account}`;
      const license = checkRule('licenseArn', customer.licenseArn);
      if (license !== undefined) return `licenseArn must be ${license}`;
      return undefined;
    }
    if (this.settings.licenseOnly) {
      return 'the engine is licenseOnly: a customer must be { awsAccountId, licenseArn } (Concurrent Agreements)';
    }
    const legacy = checkRule('customerIdentifier', customer.customerIdentifier);
    if (legacy !== undefined)
      return `customerIdentifier must be ${legacy} (or give awsAccountId + licenseArn)`;
    return undefined;
  }
}
