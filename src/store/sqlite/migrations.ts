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
    description: "credential numbers, credentials, audit events, usage rollups, leases, counters, meta, change feed",
    sql: `
      -- Every credential id ever stored gets a number, kept after the credential is removed.
      -- Credentials and events refer to the number, so bulk writes (numbers handed out in
      -- order) append to their tables and indexes instead of scattering writes over random
      -- hash-ordered pages: 100,000 keys cost ten times 10,000, not thirty.
      CREATE TABLE credential_ids (
        num INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE
      );

      -- Real columns for what is read or filtered; JSON text for lists and maps.
      -- secret and meta pass through the SecretBox (sealed when KEYPOOL_SECRET_KEY is set).
      CREATE TABLE credentials (
        num INTEGER PRIMARY KEY REFERENCES credential_ids (num),
        id TEXT NOT NULL,
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

      -- Event ids are time-ordered: the primary key is the newest-first order. Events
      -- outlive their credential (no foreign key on credentials, only on the number).
      CREATE TABLE events (
        id TEXT PRIMARY KEY NOT NULL,
        time INTEGER NOT NULL,
        credential_num INTEGER NOT NULL REFERENCES credential_ids (num),
        credential_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        reason TEXT NOT NULL,
        evidence TEXT,
        instance TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX events_by_credential ON events (credential_num, id);
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
  {
    version: 2,
    description: "gateway client tokens, conversations and their messages",
    sql: `
      -- Only a token's hash is stored; the token itself is shown once.
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        hash TEXT NOT NULL,
        hint TEXT NOT NULL,
        models TEXT,
        quota_tokens INTEGER,
        used_tokens INTEGER NOT NULL,
        rpm INTEGER,
        expires_at INTEGER,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX tokens_by_hash ON tokens (hash);
      CREATE INDEX tokens_by_created ON tokens (created_at);

      CREATE TABLE conversations (
        id TEXT PRIMARY KEY NOT NULL,
        client_id TEXT,
        backend TEXT NOT NULL,
        title TEXT,
        credential_id TEXT,
        remote_id TEXT,
        last_message_id TEXT,
        message_count INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX conversations_by_client ON conversations (client_id, updated_at);
      CREATE INDEX conversations_by_update ON conversations (updated_at);

      -- A conversation is a tree of messages; a chain is walked by parent id.
      CREATE TABLE messages (
        id TEXT PRIMARY KEY NOT NULL,
        conversation_id TEXT NOT NULL,
        parent_message_id TEXT,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        model TEXT,
        credential_id TEXT,
        usage TEXT,
        remote_id TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX messages_by_conversation ON messages (conversation_id);

      CREATE TABLE current_conversations (
        client_id TEXT PRIMARY KEY NOT NULL,
        conversation_id TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: "client tokens' request windows, shared between gateway instances",
    sql: `
      -- Each instance's recent requests of a token, as JSON [second, count, ...] pairs.
      CREATE TABLE token_rates (
        token_id TEXT NOT NULL,
        instance TEXT NOT NULL,
        window TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (token_id, instance)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    description: "how far each process's usage journal was folded",
    sql: `
      -- A journal's log is folded exactly once by position: the fold's transaction records the
      -- log's generation and the byte after its last line, instead of each record's id.
      CREATE TABLE journal_folds (
        journal TEXT PRIMARY KEY NOT NULL,
        gen INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);
