import { MemoryRegistry } from '@meterkit/core';
import { describeCustomerRegistryContract } from '@meterkit/core/testing';

describeCustomerRegistryContract('MemoryRegistry', () => new MemoryRegistry());
