/**
 * `@meterkit/core/http`: for HTTP adapters. The post-response policy they share ({@link RequestMetering}), when a
 * Node HTTP response has finished and whether it was delivered (through the server's diagnostics channel rather than
 * a `finish` listener per response), and body byte counting.
 */
export { bodyBytesOf, countBodyBytes, markNeedsBodyBytes, needsBodyBytes } from './body-bytes.js';
export {
  type HttpMeteringCounters,
  type MissingCustomerPolicy,
  RequestMetering,
} from './request-metering.js';
export {
  type FinishWatcher,
  holdFinishChannel,
  isWatched,
  type RawRequest,
  type RawResponse,
  watcherOf,
  watchFinish,
} from './response-finish.js';
export { isServedStatus } from './served-status.js';
