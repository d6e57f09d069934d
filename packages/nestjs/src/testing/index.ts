// Test support for Nest apps: `@meterkit/nestjs/testing`.
export { MeteringTestingModule, type MeteringTestingOptions } from './metering-testing.module.js';
