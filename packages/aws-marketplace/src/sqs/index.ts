/** `@meterkit/aws-marketplace/sqs`: receive AWS Marketplace subscription events from an SQS queue. */
export {
  createMarketplaceEventPoller,
  type MarketplaceEventPoller,
  type MarketplaceEventPollerOptions,
  type PollReport,
} from './marketplace-event-poller.js';
