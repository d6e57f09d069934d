/** The example's metered API routes. */
import { Meter, responseBytesIn, subscriptionPolicyGuard } from '@meterkit/nestjs';
import { BadRequestException, Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard.js';
import { singleQueryValue } from './query-param.js';

const CONDITIONS = ['sunny', 'cloudy', 'rain', 'snow', 'windy'] as const;

/** A stable pseudo-forecast, so the demo's answers do not change between runs. */
function forecastFor(city: string) {
  let hash = 0;
  for (const char of city.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return { city, temperatureC: (hash % 35) - 5, conditions: CONDITIONS[hash % CONDITIONS.length] };
}

/** After unsubscribe-success AWS bills nothing more: answer 402 instead of serving for free. */
const EndedSubscription = subscriptionPolicyGuard(402);

/** The metered API. Every route needs a valid API key; only successful responses are billed. */
@Controller('v1')
@UseGuards(ApiKeyGuard, EndedSubscription)
export class ApiController {
  /** One `api_calls` unit per forecast served. */
  @Meter('api_calls')
  @Get('forecast')
  forecast(@Query('city') cityParam?: unknown) {
    const city = singleQueryValue(cityParam, 'city');
    if (city === undefined || city.trim() === '')
      throw new BadRequestException('query parameter `city` is required');
    return forecastFor(city.trim());
  }

  /** Two dimensions from one route: an API call and a report. */
  @Meter('api_calls', 'reports')
  @Post('reports')
  @HttpCode(201)
  createReport(@Body() body: unknown) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequestException('the body must be a JSON object');
    }
    const title =
      typeof (body as { title?: unknown }).title === 'string' ? (body as { title: string }).title : 'report';
    return { id: `rep-${Date.now().toString(36)}`, title, status: 'queued' };
  }

  /**
   * Billed by size: one `export_kb` unit per started KiB of the response body actually sent (none for HEAD, none
   * when the client drops the download).
   */
  @Meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) })
  @Get('export')
  export(@Query('rows') rowsParam?: unknown) {
    const count = Number(singleQueryValue(rowsParam, 'rows') ?? '100');
    if (!Number.isInteger(count) || count < 1 || count > 100_000) {
      throw new BadRequestException('query parameter `rows` must be an integer from 1 to 100000');
    }
    return {
      rows: Array.from({ length: count }, (_, i) => ({ id: i + 1, ...forecastFor(`city-${i + 1}`) })),
    };
  }
}
