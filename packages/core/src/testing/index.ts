// Test doubles and helpers that load without any test framework; suites that import one live in vitest.ts.
export { configurationErrorOf } from './configuration-error.js';
export {
  type BilledEntry,
  InMemorySink,
  type InMemorySinkOptions,
  type SinkFault,
} from './in-memory-sink.js';
export { ManualClock, settleMicrotasks } from './manual-clock.js';
export { sealAndReadBack } from './seal-read-back.js';
export { seededRandom } from './seeded-random.js';
