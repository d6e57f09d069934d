/** A CustomerRegistry in a SQLite file: buyers survive restarts, and processes on one host share them. */
import {
  type CustomerRef,
  type CustomerRegistry,
  MeteringConfigurationError,
  type RegisteredCustomer,
  type RegistrationInput,
  type SubscriptionChange,
  type SubscriptionState,
} from '@meterkit/core';
import {
  compareEntries,
  entryFromJson,
  entryWithChange,
  linkedEntry,
  matchesFilter,
  registeredEntry,
  registryKeyOf,
} from '@meterkit/core/store';
import Database from 'better-sqlite3';

/** Options of {@link SqliteRegistry}. */
export interface SqliteRegistryOptions {
  /**
   * Path of the database file; created when missing. May be the file of a `SqliteStore` (the tables do not clash).
   * Keep it on a local disk: SQLite's locks need one.
   */
  filename: string;
  /** How long a call waits for another process's write on the same file before failing. @default 5000 */
  busyTimeoutMillis?: number;
}

/**
 * One row per buyer. The entry is kept whole as JSON (it is read whole); `account_id` is a column of its own so that
 * SQLite itself refuses a second customer for one app account, whatever a caller does.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS meterkit_customers (
  key TEXT PRIMARY KEY,
  account_id TEXT UNIQUE,
  state TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  entry TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS meterkit_customers_by_state ON meterkit_customers (state);
`;

interface Row {
  key: string;
  entry: string;
}

function invalid(field: string, value: unknown, rule: string): never {
  throw new MeteringConfigurationError(
    'ERR_METERING_INVALID_OPTION',
    field,
    `SqliteRegistry option \`${field}\` is ${JSON.stringify(value)}, but it must be ${rule}.`,
  );
}

/**
 * Keeps buyers in a SQLite file (better-sqlite3, WAL). Every write is one `BEGIN IMMEDIATE` transaction, so it is atomic
 * against other processes on the same file, and a unique index refuses a second customer for one app account.
 *
 * @example
 * ```ts
 * const registry = new SqliteRegistry({ filename: '/var/lib/myapp/metering.sqlite' });
 * ```
 * @throws {MeteringConfigurationError} for invalid options.
 */
export class SqliteRegistry implements CustomerRegistry {
  readonly name = 'sqlite';
  readonly filename: string;
  private readonly db: Database.Database;
  private readonly sql;
  private closed = false;

  constructor(options: SqliteRegistryOptions) {
    if (options === null || typeof options !== 'object')
      invalid('options', options, 'an object with a `filename`');
    for (const key of Object.keys(options)) {
      if (key !== 'filename' && key !== 'busyTimeoutMillis') {
        throw new MeteringConfigurationError(
          'ERR_METERING_UNKNOWN_OPTION',
          key,
          `Unknown SqliteRegistry option \`${key}\`. Known options: filename, busyTimeoutMillis.`,
        );
      }
    }
    if (typeof options.filename !== 'string' || options.filename.length === 0) {
      invalid('filename', options.filename, 'a file path, e.g. "/var/lib/myapp/metering.sqlite"');
    }
    const timeout = options.busyTimeoutMillis ?? 5_000;
    if (!Number.isSafeInteger(timeout) || timeout < 1)
      invalid('busyTimeoutMillis', timeout, 'a positive integer');
    this.filename = options.filename;
    this.db = new Database(options.filename, { timeout });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.exec(DDL);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.sql = {
      get: this.db.prepare<[string], Row>('SELECT key, entry FROM meterkit_customers WHERE key = ?'),
      byAccount: this.db.prepare<[string], Row>(
        'SELECT key, entry FROM meterkit_customers WHERE account_id = ?',
      ),
      all: this.db.prepare<[], Row>('SELECT key, entry FROM meterkit_customers'),
      put: this.db.prepare<[string, string | null, string, number, string]>(
        `INSERT INTO meterkit_customers (key, account_id, state, registered_at, entry) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET account_id = excluded.account_id, state = excluded.state,
           registered_at = excluded.registered_at, entry = excluded.entry`,
      ),
    };
  }

  async register(input: RegistrationInput): Promise<RegisteredCustomer> {
    const key = registryKeyOf(input.customer, input.productCode);
    return this.write(() => this.save(key, registeredEntry(this.read(key), input)));
  }

  async link(customer: CustomerRef, accountId: string): Promise<RegisteredCustomer> {
    const key = registryKeyOf(customer);
    return this.write(() => {
      const existing = this.read(key);
      const owner = typeof accountId === 'string' ? this.sql.byAccount.get(accountId)?.key : undefined;
      return this.save(key, linkedEntry(existing, key, accountId, owner, existing?.updatedAt ?? 0));
    });
  }

  async get(customer: CustomerRef): Promise<RegisteredCustomer | undefined> {
    return this.read(registryKeyOf(customer));
  }

  async findByAccount(accountId: string): Promise<RegisteredCustomer | undefined> {
    const row = this.sql.byAccount.get(accountId);
    return row === undefined ? undefined : entryFromJson(row.entry);
  }

  async setState(customer: CustomerRef, change: SubscriptionChange): Promise<RegisteredCustomer> {
    const key = registryKeyOf(customer);
    return this.write(() => this.save(key, entryWithChange(this.read(key), customer, change)));
  }

  async list(filter?: { readonly states?: readonly SubscriptionState[] }): Promise<RegisteredCustomer[]> {
    return this.sql.all
      .all()
      .map((row) => entryFromJson(row.entry))
      .filter((e) => matchesFilter(e, filter))
      .sort(compareEntries);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private read(key: string): RegisteredCustomer | undefined {
    const row = this.sql.get.get(key);
    return row === undefined ? undefined : entryFromJson(row.entry);
  }

  private save(key: string, result: { entry: RegisteredCustomer; changed: boolean }): RegisteredCustomer {
    const { entry, changed } = result;
    if (changed) {
      this.sql.put.run(key, entry.accountId ?? null, entry.state, entry.registeredAt, JSON.stringify(entry));
    }
    return entry;
  }

  /** Runs `work` in one immediate transaction: the read and the write it depends on see no other writer between them. */
  private write<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }
}
