/** The one table of post-response cases every HTTP adapter must agree on (see `@meterkit/core/http`). */
import type { HttpMeteringCounters, MissingCustomerPolicy } from '@meterkit/core/http';

export interface PolicyCase {
  readonly name: string;
  readonly method?: 'GET' | 'HEAD';
  readonly path: string;
  /** The `x-customer` header (see the adapters' resolver); none: no customer. */
  readonly customer?: 'acme' | 'async' | 'throw' | 'reject';
  readonly onMissingCustomer?: MissingCustomerPolicy;
  /** Bounds the tally (`onMaxLiveKeys: 'reject'`). */
  readonly maxLiveKeys?: number;
  /** A request served first, with the same customer header (e.g. to fill the tally). */
  readonly before?: string;
  /** The status the client receives. */
  readonly status: number;
  /** A header the answer must carry. */
  readonly header?: readonly [string, string];
  /** Units billed per dimension (zero left out). */
  readonly billed: Record<string, number>;
  /** Counters that must have moved (the rest stay 0). */
  readonly counters?: Partial<HttpMeteringCounters>;
}

export const policyCases: readonly PolicyCase[] = [
  {
    name: 'a served call counts one',
    path: '/calls',
    customer: 'acme',
    status: 200,
    billed: { api_calls: 1 },
  },
  {
    name: 'a redirect counts (3xx is served)',
    path: '/status?code=302',
    customer: 'acme',
    status: 302,
    billed: { api_calls: 1 },
  },
  {
    name: '304 Not Modified counts nothing (no content served)',
    path: '/status?code=304',
    customer: 'acme',
    status: 304,
    billed: {},
  },
  {
    name: 'a client error counts nothing',
    path: '/status?code=404',
    customer: 'acme',
    status: 404,
    billed: {},
  },
  {
    name: 'a handler that throws counts nothing',
    path: '/handler-throws',
    customer: 'acme',
    status: 500,
    billed: {},
  },
  {
    name: 'HEAD of a counted route counts the call',
    method: 'HEAD',
    path: '/calls',
    customer: 'acme',
    status: 200,
    billed: { api_calls: 1 },
  },
  {
    name: 'a body with Content-Length bills its bytes',
    path: '/bytes?kb=3',
    customer: 'acme',
    status: 200,
    billed: { export_kb: 3 },
  },
  {
    name: 'a streamed body bills the bytes written',
    path: '/stream?kb=5',
    customer: 'acme',
    status: 200,
    billed: { export_kb: 5 },
  },
  {
    name: 'HEAD bills no bytes (none are sent)',
    method: 'HEAD',
    path: '/bytes?kb=20',
    customer: 'acme',
    status: 200,
    billed: {},
  },
  {
    name: 'a `when` that throws counts nothing and is counted',
    path: '/when-throws',
    customer: 'acme',
    status: 200,
    billed: {},
    counters: { callbackErrors: 1 },
  },
  {
    name: 'a `quantity` that throws counts nothing and is counted',
    path: '/quantity-throws',
    customer: 'acme',
    status: 200,
    billed: {},
    counters: { callbackErrors: 1 },
  },
  {
    name: 'a resolver that throws fails the request',
    path: '/calls',
    customer: 'throw',
    status: 500,
    billed: {},
    counters: { resolverErrors: 1 },
  },
  {
    name: 'a resolver whose promise rejects fails the request',
    path: '/calls',
    customer: 'reject',
    status: 500,
    billed: {},
    counters: { resolverErrors: 1 },
  },
  {
    name: 'an async resolver bills its customer',
    path: '/calls',
    customer: 'async',
    status: 200,
    billed: { api_calls: 1 },
  },
  {
    name: 'an async resolver bills bytes too',
    path: '/stream?kb=2',
    customer: 'async',
    status: 200,
    billed: { export_kb: 2 },
  },
  {
    name: "no customer under 'skip' serves unbilled, counted",
    path: '/calls',
    status: 200,
    billed: {},
    counters: { servedWithoutCustomer: 1 },
  },
  {
    name: 'no customer under 401 refuses the request',
    path: '/calls',
    onMissingCustomer: 401,
    status: 401,
    billed: {},
    counters: { refusedWithoutCustomer: 1 },
  },
  {
    name: 'no customer under 403 refuses the request',
    path: '/calls',
    onMissingCustomer: 403,
    status: 403,
    billed: {},
    counters: { refusedWithoutCustomer: 1 },
  },
  {
    name: 'a full tally refuses a new key with 503 and Retry-After, keeping what it counted',
    path: '/bytes?kb=1',
    customer: 'acme',
    maxLiveKeys: 1,
    before: '/calls',
    status: 503,
    header: ['retry-after', '60'],
    billed: { api_calls: 1 },
    counters: { refusedAtCapacity: 1 },
  },
];
