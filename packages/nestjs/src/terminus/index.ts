// `@meterkit/nestjs/terminus`: the metering health indicator (needs the optional peer @nestjs/terminus).
export type { MeteringHealthOptions, MeteringHealthReport } from '@meterkit/core/ops';
export { METERING_HEALTH_OPTIONS, MeteringHealthIndicator } from './metering.health.js';
export { MeteringHealthModule } from './metering-health.module.js';
