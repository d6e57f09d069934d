/**
 * `@meterkit/core/http`: for HTTP adapters. Tells a watcher when a Node HTTP response has finished, through the
 * server's diagnostics channel rather than a `finish` listener per response.
 */
export {
  type FinishWatcher,
  holdFinishChannel,
  isWatched,
  type RawRequest,
  type RawResponse,
  watcherOf,
  watchFinish,
} from './response-finish.js';
