/** Brings a database to the schema this code knows, one step per transaction. */
import { StoreError } from "../store-error.ts";
import type { Connection } from "./connection.ts";
import { LATEST_VERSION, MIGRATIONS } from "./migrations.ts";

function userVersion(conn: Connection): number {
  const v = conn.prepare("PRAGMA user_version").get()?.user_version;
  return typeof v === "number" ? v : 0;
}

function refuseNewer(conn: Connection, version: number): never {
  throw new StoreError(
    `sqlite store ${conn.path} has schema version ${version}, newer than this keypool knows (${LATEST_VERSION}): ` +
      "it was written by a newer keypool; upgrade keypool to open it",
  );
}

/** Returns the schema version the database ends at (always LATEST_VERSION). */
export function migrate(conn: Connection): number {
  const found = conn.run("read schema version", () => userVersion(conn));
  if (found > LATEST_VERSION) refuseNewer(conn, found);
  for (const step of MIGRATIONS) {
    if (step.version <= found) continue;
    conn.write(`migrate to schema version ${step.version}`, () => {
      // Another process may have migrated while this one waited for the write lock.
      const now = userVersion(conn);
      if (now > LATEST_VERSION) refuseNewer(conn, now);
      if (now >= step.version) return;
      conn.exec(step.sql);
      // user_version lives in the database header: it commits or rolls back with the step.
      conn.exec(`PRAGMA user_version = ${step.version}`);
    });
  }
  return conn.run("read schema version", () => userVersion(conn));
}
