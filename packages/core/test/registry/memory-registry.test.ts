import { MemoryRegistry } from '@meterkit/core';
import { describeCustomerRegistryContract } from '@meterkit/core/testing/vitest';

describeCustomerRegistryContract('MemoryRegistry', () => new MemoryRegistry());
