/** The example's health route. */
import { Controller, Get } from '@nestjs/common';

/** Unmetered and unauthenticated. */
@Controller()
export class HealthController {
  @Get('health')
  health() {
    return { status: 'ok' };
  }
}
