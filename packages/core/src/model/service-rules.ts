/**
 * The Marketplace Metering Service's constraints on what meterkit sends, from the service model
 * (`UsageDimension`, `ProductCode`, `CustomerAWSAccountId`, `LicenseArn`, `CustomerIdentifier`). The SDK does not check
 * them, so meterkit does, before anything is counted. Three are stricter than the model, so a value AWS would refuse
 * hours later is refused at `record()`:
 * - an AWS account id is exactly 12 digits (the model allows 1..255 digits);
 * - a license ARN is at most 2048 characters (the model's pattern bounds every part but the partition, and sets no
 *   length; 2048 is the longest ARN AWS documents);
 * - a customer identifier has no control characters (the model allows any).
 */
export const serviceRules = {
  dimension: { min: 1, max: 255, pattern: /^[\s\S]+$/ },
  productCode: { min: 1, max: 255, pattern: /^[-a-zA-Z0-9/=:_.@]*$/ },
  awsAccountId: { min: 12, max: 12, pattern: /^[0-9]{12}$/ },
  customerIdentifier: { min: 1, max: 255, pattern: /^\P{Cc}+$/u },
  licenseArn: {
    min: 1,
    max: 2048,
    pattern:
      /^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$/,
  },
} as const;

export type RuleName = keyof typeof serviceRules;

/** Returns why `value` breaks rule `name`, or `undefined` when it is valid. */
export function checkRule(name: RuleName, value: unknown): string | undefined {
  const rule = serviceRules[name];
  if (typeof value !== 'string') return 'a string';
  if (value.length < rule.min || value.length > rule.max) {
    return rule.min === rule.max
      ? `a string of exactly ${rule.min} characters`
      : `a string of ${rule.min} to ${rule.max} characters`;
  }
  if (!rule.pattern.test(value)) {
    return rule.pattern.flags.includes('u')
      ? 'a string without control characters'
      : `a string matching ${rule.pattern.source}`;
  }
  return undefined;
}
