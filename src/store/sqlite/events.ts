/** The audit log: append-only, read newest first by time-ordered id. */
import type { SQLInputValue } from "node:sqlite";
import type { AuditEvent, AuditKind, CredentialState, Evidence } from "../../pool/types.ts";
import type { EventQuery, EventRepo } from "../types.ts";
import { inChunks, type Connection } from "./connection.ts";
import { NUM_OF_ID, numberFor } from "./credential-numbers.ts";
import type { Row } from "./rows.ts";

const DEFAULT_LIMIT = 100;

const INSERT_EVENT_SQL = `INSERT OR IGNORE INTO events
  (id, time, credential_num, credential_id, fingerprint, kind, from_state, to_state, reason, evidence, instance)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Writes one event; call inside the write transaction of the change it records, with the
 * credential's number when the caller has it. Replaying an event id is a no-op.
 */
export function insertEvent(conn: Connection, e: AuditEvent, num: number = numberFor(conn, e.credentialId)): void {
  const evidence = e.evidence === null ? null : JSON.stringify(e.evidence);
  conn.prepare(INSERT_EVENT_SQL).run(e.id, e.time, num, e.credentialId, e.fingerprint, e.kind, e.from, e.to, e.reason, evidence, e.instance);
}

function rowToEvent(row: Row): AuditEvent {
  return {
    id: String(row.id),
    time: Number(row.time),
    credentialId: String(row.credential_id),
    fingerprint: String(row.fingerprint),
    kind: String(row.kind) as AuditKind,
    from: row.from_state === null ? null : (String(row.from_state) as CredentialState),
    to: row.to_state === null ? null : (String(row.to_state) as CredentialState),
    reason: String(row.reason),
    evidence: row.evidence === null ? null : (JSON.parse(String(row.evidence)) as Evidence),
    instance: String(row.instance),
  };
}

export function sqliteEventRepo(conn: Connection): EventRepo {
  return {
    async append(events) {
      for await (const chunk of inChunks(events)) {
        await conn.writePatiently("append events", () => {
          for (const e of chunk) insertEvent(conn, e);
        });
      }
    },
    async query(q: EventQuery = {}) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      // Each filter walks an index in id order: (credential_num, id), (kind, id) or the primary key.
      if (q.credentialId !== undefined) {
        where.push(`credential_num = ${NUM_OF_ID}`);
        params.push(q.credentialId);
      }
      if (q.kind !== undefined) {
        where.push("kind = ?");
        params.push(q.kind);
      }
      if (q.before !== undefined) {
        where.push("id < ?");
        params.push(q.before);
      }
      const wanted = q.limit ?? DEFAULT_LIMIT;
      const limit = Number.isFinite(wanted) ? Math.max(0, Math.floor(wanted)) : -1; // -1: no limit
      const sql = `SELECT * FROM events${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
      return conn.run("query events", () => conn.prepare(sql).all(...params, limit).map(rowToEvent));
    },
  };
}
