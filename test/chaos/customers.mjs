// The chaos run's customers, shared by the harness and the replicas: even indexes are legacy customers
// (CustomerIdentifier), odd ones Concurrent Agreements licenses. Types are in customers.d.mts.

export const PRODUCT_CODE = 'prod-chaos';
export const DIMENSIONS = ['api_calls', 'reports'];

/** The customer with index `i`. */
export function customerFor(i) {
  if (i % 2 === 0) return { customerIdentifier: `cust-${i}`, productCode: PRODUCT_CODE };
  const account = String(100_000_000_000 + i);
  return {
    awsAccountId: account,
    licenseArn: `arn:aws:license-manager::${account}:license:l-${i.toString(16).padStart(16, '0')}`,
    productCode: PRODUCT_CODE,
  };
}

/** The index of the customer a billed record names (its customer identifier or license), or -1. */
export function customerIndexOf(record) {
  if (record.customerIdentifier !== undefined) return Number(record.customerIdentifier.slice('cust-'.length));
  if (record.licenseArn !== undefined) return Number.parseInt(record.licenseArn.split(':license:l-')[1], 16);
  return -1;
}
