/**
 * Credential ids to their numbers (see the `credential_ids` table): handed out
 * in order on first sight and never reused or changed, so a number read before
 * a transaction is still right inside it.
 */
import type { Connection } from "./connection.ts";

/** Selects a credential's number by id, for `WHERE num = (...)`. */
export const NUM_OF_ID = "(SELECT num FROM credential_ids WHERE id = ?)";

export function numberOf(conn: Connection, id: string): number | null {
  const row = conn.prepare("SELECT num FROM credential_ids WHERE id = ?").get(id);
  return row === undefined ? null : Number(row.num);
}

/** The id's number, handing out the next one if the id is new. Inside a write transaction. */
export function numberFor(conn: Connection, id: string): number {
  return numberOf(conn, id) ?? Number(conn.prepare("INSERT INTO credential_ids (id) VALUES (?)").run(id).lastInsertRowid);
}
