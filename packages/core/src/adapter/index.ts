/**
 * `@meterkit/core/adapter`: for framework adapters (Express, Nest, a customer onboarding route): option splitting,
 * start-up checks of dimensions, identifier rules, and error wording shared with the engine. HTTP response handling
 * is in `@meterkit/core/http`.
 */
export { assertDimension, meteringOptionKeys, splitAdapterOptions } from '../engine/options.js';
export { redact } from '../model/customer.js';
export { describeValue, withErrorCode } from '../model/messages.js';
export { checkRule, type RuleName, serviceRules } from '../model/service-rules.js';
export { checkTags, MAX_TAG_KEYS_PER_RECORD, TAG_PATTERN } from '../model/usage-tags.js';
