/** The bill the emulator recorded, per customer, dimension and hour, for the example to print. */
import type { Emulator } from '@meterkit/emulator';
import type { Customer } from './customers.js';

/** One line of the bill: units per customer, dimension and hour, as the emulator recorded them. */
export interface BillLine {
  readonly customer: string;
  readonly dimension: string;
  readonly hour: string;
  readonly quantity: number;
}

export function billFromEmulator(emulator: Emulator, customers: ReadonlyMap<string, Customer>): BillLine[] {
  const names = new Map<string, string>();
  for (const { record } of customers.values())
    names.set(record.licenseArn ?? record.customerIdentifier ?? '', record.name);
  return emulator.ledger
    .records()
    .map((r) => ({
      customer: names.get(r.licenseArn ?? r.customerIdentifier ?? '') ?? 'unknown customer',
      dimension: r.dimension,
      hour: `${new Date(r.hourStartMillis).toISOString().slice(0, 13)}:00Z`,
      quantity: r.quantity,
    }))
    .sort(
      (a, b) =>
        a.customer.localeCompare(b.customer) ||
        a.dimension.localeCompare(b.dimension) ||
        a.hour.localeCompare(b.hour),
    );
}

export function printBill(lines: readonly BillLine[], log: (line: string) => void): void {
  log(`the emulator billed ${lines.length} record(s):`);
  for (const line of lines) {
    log(`  ${line.customer.padEnd(26)} ${line.dimension.padEnd(10)} ${line.hour}  ${line.quantity}`);
  }
}
