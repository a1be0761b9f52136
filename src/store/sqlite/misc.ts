/** Leases, counters and store meta: one statement each, atomic without a transaction. */
import type { CounterRepo, LeaseRepo, MetaRepo } from "../types.ts";
import type { Connection } from "./connection.ts";

// Takes a free or expired lease, or renews one's own; otherwise changes nothing.
const ACQUIRE_SQL = `INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3)
  ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
  WHERE leases.owner = excluded.owner OR leases.until <= ?4`;

export function sqliteLeaseRepo(conn: Connection): LeaseRepo {
  return {
    async acquire(name, owner, ttlMs) {
      const now = Date.now();
      // Quick: a lease is tried again next round; a busy store must not hold a gateway's event loop.
      return conn.writeQuick("acquire lease", () => conn.prepare(ACQUIRE_SQL).run(name, owner, now + ttlMs, now).changes === 1);
    },
    async release(name, owner) {
      conn.run("release lease", () => conn.prepare("DELETE FROM leases WHERE name = ? AND owner = ?").run(name, owner));
    },
  };
}

export function sqliteCounterRepo(conn: Connection): CounterRepo {
  return {
    async incr(name, by, options = {}) {
      const add = (): Record<string, unknown> | undefined =>
        conn.prepare("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value").get(name, by);
      const row = options.quick === true ? conn.writeQuick("increment counter", add) : await conn.writePatiently("increment counter", add);
      return Number(row?.value);
    },
  };
}

export function sqliteMetaRepo(conn: Connection): MetaRepo {
  return {
    async get(key) {
      const row = conn.run("read meta", () => conn.prepare("SELECT value FROM meta WHERE key = ?").get(key));
      return row === undefined ? null : String(row.value);
    },
    async set(key, value) {
      await conn.writePatiently("write meta", () =>
        conn.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, value),
      );
    },
  };
}
