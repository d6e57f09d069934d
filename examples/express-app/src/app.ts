/** The example's Express app: routes, authentication and a meter per route. */
import type { MarketplaceEventHandler } from '@meterkit/aws-marketplace';
import {
  type ExpressMetering,
  marketplaceEvents,
  responseBytesIn,
  subscriptionPolicy,
} from '@meterkit/express';
import express, { type Express, type RequestHandler } from 'express';
import { type AuthenticatedRequest, authenticate, type Customer } from './customers.js';
import { forecastFor } from './forecast.js';
import { errorHandler, notFound, sendError } from './http-errors.js';
import { singleQueryValue } from './query-param.js';

/** The dimensions the demo product declares. */
export const DIMENSIONS = ['api_calls', 'reports', 'export_kb'] as const;

const MAX_EXPORT_ROWS = 100_000;

/**
 * The demo API, the same as the Nest example's: `/health` open and unmetered; everything under `/v1` authenticated by
 * API key (401 before metering), then metered per route. Only successful responses are billed.
 */
export function createApp(
  metering: ExpressMetering,
  customers: ReadonlyMap<string, Customer>,
  events?: MarketplaceEventHandler,
  registration?: RequestHandler,
): Express {
  const { meter } = metering;
  const app = express();
  app.disable('x-powered-by');

  // AWS Marketplace subscription events (an SNS HTTPS subscription; the emulator posts here too). Signed messages only.
  if (events !== undefined) app.post('/marketplace/events', marketplaceEvents({ handler: events }));
  // The listing's fulfillment URL: the buyer's browser posts the registration token here.
  if (registration !== undefined) app.use(registration);

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const v1 = express.Router();
  v1.use(authenticate(customers));
  // After unsubscribe-success AWS bills nothing more: answer 402 instead of serving for free.
  v1.use(
    subscriptionPolicy({
      engine: metering.engine,
      customer: (req: AuthenticatedRequest) => req.customer?.billing,
      ended: 402,
    }),
  );

  // One `api_calls` unit per forecast served.
  v1.get('/forecast', meter('api_calls'), (req, res) => {
    const city = singleQueryValue(req, 'city');
    if (city === undefined || city.trim() === '') {
      sendError(res, 400, 'query parameter `city` is required');
      return;
    }
    res.json(forecastFor(city.trim()));
  });

  // Two dimensions from one route: an API call and a report.
  v1.post('/reports', express.json(), meter(['api_calls', 'reports']), (req, res) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      sendError(res, 400, 'the body must be a JSON object');
      return;
    }
    const title =
      typeof (body as { title?: unknown }).title === 'string' ? (body as { title: string }).title : 'report';
    res.status(201).json({ id: `rep-${Date.now().toString(36)}`, title, status: 'queued' });
  });

  // Billed by size: one `export_kb` unit per started KiB of the response body (the quantity comes from the response).
  v1.get('/export', meter({ dimension: 'export_kb', quantity: responseBytesIn(1024) }), (req, res) => {
    const count = Number(singleQueryValue(req, 'rows') ?? '100');
    if (!Number.isInteger(count) || count < 1 || count > MAX_EXPORT_ROWS) {
      sendError(res, 400, `query parameter \`rows\` must be an integer from 1 to ${MAX_EXPORT_ROWS}`);
      return;
    }
    res.json({
      rows: Array.from({ length: count }, (_, i) => ({ id: i + 1, ...forecastFor(`city-${i + 1}`) })),
    });
  });

  app.use('/v1', v1);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
