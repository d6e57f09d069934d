/**
 * A buyer under Concurrent Agreements (every product listed from June 2026): the buyer's AWS account and the
 * license (agreement) ARN, both from ResolveCustomer. `productCode` only groups batches; it is never sent.
 */
export interface LicenseCustomer {
  readonly awsAccountId: string;
  readonly licenseArn: string;
  readonly productCode?: string;
  readonly customerIdentifier?: undefined;
}

/** A buyer of a legacy integration, identified by the `CustomerIdentifier` ResolveCustomer returned. */
export interface LegacyCustomer {
  readonly customerIdentifier: string;
  readonly productCode?: string;
  readonly awsAccountId?: undefined;
  readonly licenseArn?: undefined;
}

/**
 * Who is billed. Return one from your customer resolver (from the authenticated request, never a raw header).
 * `productCode` may be left out when the engine has a default `productCode`.
 */
export type CustomerRef = LicenseCustomer | LegacyCustomer;

/**
 * Shows enough of an identifier to tell customers apart in logs without writing it out in full
 * (identifiers and license ARNs are customer data and stay out of info-level logs).
 */
export function redact(identifier: string | undefined): string {
  if (identifier === undefined || identifier.length === 0) return '<none>';
  return identifier.length <= 4 ? '…' : `…${identifier.slice(-4)}`;
}
