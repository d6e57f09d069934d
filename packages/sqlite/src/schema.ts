/** The SQLite tables and the migration of older files to this release's schema version. */
import { MeteringConfigurationError } from '@meterkit/core';
import type Database from 'better-sqlite3';

/** Bumped whenever the tables change; stored in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 2;

/**
 * The tables. Open usage keeps its rowid so a closed hour is sealed in the order its keys first appeared (as the
 * memory store does); `outbox.seq` orders records of one hour the same way.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS meterkit_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  closed_before INTEGER,
  seq INTEGER NOT NULL,
  accepted INTEGER NOT NULL,
  submitter TEXT,
  submitter_until INTEGER
);
INSERT OR IGNORE INTO meterkit_state (id, closed_before, seq, accepted) VALUES (1, NULL, 0, 0);

CREATE TABLE IF NOT EXISTS meterkit_open (
  hour INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  tagged INTEGER NOT NULL DEFAULT 0,
  UNIQUE (hour, key_id)
);
CREATE INDEX IF NOT EXISTS meterkit_open_by_hour ON meterkit_open (hour);

CREATE TABLE IF NOT EXISTS meterkit_open_tags (
  hour INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  tags TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  PRIMARY KEY (hour, key_id, tags)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meterkit_outbox (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  hour INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ready', 'waiting', 'leased')),
  claim TEXT,
  lease_until INTEGER,
  not_before INTEGER,
  allocations TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS meterkit_outbox_ready ON meterkit_outbox (state, hour, seq);
CREATE INDEX IF NOT EXISTS meterkit_outbox_lease ON meterkit_outbox (state, lease_until);
CREATE INDEX IF NOT EXISTS meterkit_outbox_waiting ON meterkit_outbox (state, not_before);
CREATE INDEX IF NOT EXISTS meterkit_outbox_order ON meterkit_outbox (hour, seq);

CREATE TABLE IF NOT EXISTS meterkit_dead (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  hour INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  allocations TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS meterkit_dead_order ON meterkit_dead (seq);

CREATE TABLE IF NOT EXISTS meterkit_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  record_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  hour INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  metering_record_id TEXT,
  accepted_at INTEGER NOT NULL
);
`;

/**
 * Schema 1 to 2: usage allocations. Open usage keeps its tagged parts in `meterkit_open_tags` (created by the DDL) and
 * flags the key (`tagged`); outbox records and dead letters keep the allocations fixed at seal.
 */
const FROM_1_TO_2 = `
ALTER TABLE meterkit_open ADD COLUMN tagged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meterkit_outbox ADD COLUMN allocations TEXT;
ALTER TABLE meterkit_dead ADD COLUMN allocations TEXT;
`;

/**
 * Creates the tables on a new file, upgrades a file of an earlier version, accepts a file already at this version, and refuses a file written by a newer
 * release (its layout is unknown here, and guessing could lose usage).
 */
export function migrate(db: Database.Database, filename: string): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SCHEMA_VERSION) {
    throw new MeteringConfigurationError(
      'ERR_METERING_INVALID_OPTION',
      'filename',
      `The store file ${JSON.stringify(filename)} was written by a newer @meterkit/sqlite (schema ${version}; this release reads ${SCHEMA_VERSION}). Upgrade @meterkit/sqlite; do not delete the file, it holds unbilled usage.`,
    );
  }
  db.transaction(() => {
    if (version === 1) db.exec(FROM_1_TO_2);
    db.exec(DDL);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
