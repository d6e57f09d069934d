import { MemoryStore } from '@meterkit/core';
import { describeUsageStoreContract } from '@meterkit/core/testing';

describeUsageStoreContract('MemoryStore', () => new MemoryStore());
