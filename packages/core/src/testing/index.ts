export { configurationErrorOf } from './configuration-error.js';
export {
  type BilledEntry,
  InMemorySink,
  type InMemorySinkOptions,
  type SinkFault,
} from './in-memory-sink.js';
export { ManualClock, settleMicrotasks } from './manual-clock.js';
export { describeCustomerRegistryContract, type RegistryContractOptions } from './registry-contract.js';
export { seededRandom } from './seeded-random.js';
export { describeUsageStoreContract, type StoreContractOptions } from './store-contract.js';
