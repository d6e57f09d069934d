/**
 * The Marketplace Metering Service's constraints on what meterkit sends, from the service model
 * (`UsageDimension`, `ProductCode`, `CustomerAWSAccountId`, `LicenseArn`, `CustomerIdentifier`). The SDK does not check
 * them, so meterkit does, before anything is counted.
 */
export const serviceRules = {
  dimension: { min: 1, max: 255, pattern: /^[\s\S]+$/ },
  productCode: { min: 1, max: 255, pattern: /^[-a-zA-Z0-9/=:_.@]*$/ },
  awsAccountId: { min: 1, max: 255, pattern: /^[0-9]+$/ },
  customerIdentifier: { min: 1, max: 255, pattern: /^[\s\S]*$/ },
  licenseArn: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
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
    return Number.isFinite(rule.max)
      ? `a string of ${rule.min} to ${rule.max} characters`
      : `a non-empty string`;
  }
  if (!rule.pattern.test(value)) return `a string matching ${rule.pattern.source}`;
  return undefined;
}
