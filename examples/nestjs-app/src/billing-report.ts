/** The bill the emulator recorded, per customer name, dimension and hour, for the example to print. */
import type { Emulator } from '@meterkit/emulator';
import type { loadCustomers } from './customers.js';

/** Billed units per customer name, dimension and hour, as the emulator recorded them. */
export function billedByCustomer(
  emulator: Emulator,
  customers: ReturnType<typeof loadCustomers>,
): { customer: string; dimension: string; hour: string; quantity: number }[] {
  const names = new Map<string, string>();
  for (const { name, record } of customers.values()) {
    names.set(record.licenseArn ?? record.customerIdentifier ?? '', name);
  }
  return emulator.ledger
    .records()
    .map((record) => ({
      customer: names.get(record.licenseArn ?? record.customerIdentifier ?? '') ?? 'unknown',
      dimension: record.dimension,
      hour: new Date(record.hourStartMillis).toISOString().slice(0, 13).concat(':00Z'),
      quantity: record.quantity,
    }))
    .sort((a, b) => a.customer.localeCompare(b.customer) || a.dimension.localeCompare(b.dimension));
}

/** Prints what the emulator billed, one line per customer, dimension and hour. */
export function printBilling(
  emulator: Emulator,
  customers: ReturnType<typeof loadCustomers>,
  log: (line: string) => void,
): void {
  const rows = billedByCustomer(emulator, customers);
  log(`the emulator billed ${rows.length} record(s):`);
  for (const row of rows) {
    log(`  ${row.customer.padEnd(26)} ${row.dimension.padEnd(10)} ${row.hour}  ${row.quantity}`);
  }
}
