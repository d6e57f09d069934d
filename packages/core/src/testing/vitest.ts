// The contract suites, which declare their tests with Vitest: `@meterkit/core/testing/vitest`. Kept apart from
// `@meterkit/core/testing` so that entry point loads without any test framework (Jest users, plain scripts).
// Every suite that imports a test framework is exported from here (or a sibling per framework), never from index.ts.

export { describeCustomerRegistryContract, type RegistryContractOptions } from './registry-contract.js';
export { describeUsageStoreContract, type StoreContractOptions } from './store-contract.js';
