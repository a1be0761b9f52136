/**
 * The schema, as an ordered list of steps. Step N brings a database from
 * `PRAGMA user_version` N-1 to N. Never edit a released step: add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "credentials, audit events, usage rollups, leases, counters, meta, change feed",
    sql: `
      -- Real columns for what is read or filtered; JSON text for lists and maps.
      -- secret and meta pass through the SecretBox (sealed when KEYPOOL_SECRET_KEY is set).
      CREATE TABLE credentials (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        secret TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        label TEXT,
        base_url TEXT,
        auth_style TEXT NOT NULL,
        organization TEXT,
        project TEXT,
        proxy TEXT,
        weight REAL NOT NULL,
        models TEXT,
        missing_models TEXT NOT NULL,
        max_in_flight INTEGER,
        budget_usd REAL,
        rpm INTEGER,
        tpm INTEGER,
        meta TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        since INTEGER NOT NULL,
        cool_until INTEGER NOT NULL,
        model_cooldowns TEXT NOT NULL,
        ejections INTEGER NOT NULL,
        rate_limit_streak INTEGER NOT NULL,
        spent_usd REAL NOT NULL,
        requests INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        last_used_at INTEGER,
        created_at INTEGER NOT NULL,
        rev INTEGER NOT NULL
      );

      -- Event ids are time-ordered: the primary key is the newest-first order.
      CREATE TABLE events (
        id TEXT PRIMARY KEY NOT NULL,
        time INTEGER NOT NULL,
        credential_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        reason TEXT NOT NULL,
        evidence TEXT,
        instance TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX events_by_credential ON events (credential_id, id);
      CREATE INDEX events_by_kind ON events (kind, id);

      -- Record ids already counted (usage is idempotent), pruned after a window.
      CREATE TABLE usage_seen (
        id TEXT PRIMARY KEY NOT NULL,
        seen_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX usage_seen_by_time ON usage_seen (seen_at);

      -- One row per hour, credential, client token ('' for none) and model.
      CREATE TABLE usage_hourly (
        hour INTEGER NOT NULL,
        credential_id TEXT NOT NULL,
        token_id TEXT NOT NULL,
        model TEXT NOT NULL,
        requests INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        PRIMARY KEY (hour, credential_id, token_id, model)
      ) WITHOUT ROWID;
      CREATE INDEX usage_hourly_by_credential ON usage_hourly (credential_id, hour);

      CREATE TABLE leases (
        name TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        until INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE counters (
        name TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE meta (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
      ) WITHOUT ROWID;

      -- The change feed between processes: every credential write appends a row,
      -- every open store reads the rows after its cursor. AUTOINCREMENT keeps seq
      -- growing after old rows are pruned, so a gap means rows were missed.
      CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        ids TEXT NOT NULL,
        instance TEXT NOT NULL
      );
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);
