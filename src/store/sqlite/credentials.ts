/**
 * Credentials on SQLite. Single writes are one transaction each (record, event,
 * change row); bulk writes are transactions of CHUNK_ROWS with the event loop
 * running in between, so 100,000 keys never freeze a gateway.
 */
import type { AuditEvent, CredentialRecord } from "../../pool/types.ts";
import type { SecretBox } from "../secret-box.ts";
import type { CredentialPatch, CredentialRepo, InsertItem, StatsDelta, UpdateOptions } from "../types.ts";
import type { SqliteChangeFeed } from "./change-feed.ts";
import { inChunks, yieldToLoop, type Connection } from "./connection.ts";
import { NUM_OF_ID, numberFor, numberOf } from "./credential-numbers.ts";
import { insertEvent } from "./events.ts";
import { INSERT_CREDENTIAL_SQL, patchAssignments, recordValues, rowToRecord } from "./rows.ts";

const LIST_PAGE = 5000;

const BUMP_STATS_SQL = `UPDATE credentials SET
  requests = requests + ?1,
  failures = failures + ?2,
  spent_usd = spent_usd + ?3,
  last_used_at = CASE WHEN ?4 IS NOT NULL AND (last_used_at IS NULL OR ?4 > last_used_at) THEN ?4 ELSE last_used_at END
  WHERE num = (SELECT num FROM credential_ids WHERE id = ?5)`;

interface Removal {
  /** Position in the caller's list, to answer in the caller's order. */
  at: number;
  num: number;
  event: AuditEvent;
}

export function sqliteCredentialRepo(conn: Connection, box: SecretBox, feed: SqliteChangeFeed): CredentialRepo {
  const byId = (id: string): CredentialRecord | null => {
    const row = conn.prepare(`SELECT * FROM credentials WHERE num = ${NUM_OF_ID}`).get(id);
    return row === undefined ? null : rowToRecord(row, box);
  };

  /** The numbers of the credentials to remove, in number order: deletes then walk the tables in order. */
  const resolve = async (items: readonly { id: string; event: AuditEvent }[]): Promise<Removal[]> => {
    const found: Removal[] = [];
    let at = 0;
    for await (const chunk of inChunks(items)) {
      conn.read("remove credentials", () => {
        for (const { id, event } of chunk) {
          const num = numberOf(conn, id);
          if (num !== null) found.push({ at, num, event });
          at++;
        }
      });
    }
    return found.sort((a, b) => a.num - b.num || a.at - b.at);
  };

  return {
    async list() {
      // Paged by number, a page per statement: the loop keeps running and no giant result is built at once.
      const out: CredentialRecord[] = [];
      let after = 0;
      for (;;) {
        const rows = conn.run("list credentials", () => conn.prepare("SELECT * FROM credentials WHERE num > ? ORDER BY num LIMIT ?").all(after, LIST_PAGE));
        const last = rows.at(-1);
        if (last === undefined) break;
        conn.run("list credentials", () => {
          for (const row of rows) out.push(rowToRecord(row, box));
        });
        after = Number(last.num);
        if (rows.length < LIST_PAGE) break;
        await yieldToLoop();
      }
      return out;
    },

    async get(id) {
      return conn.run("get credential", () => byId(id));
    },

    async getMany(ids) {
      const out: CredentialRecord[] = [];
      for await (const chunk of inChunks(ids)) {
        conn.read("get credentials", () => {
          for (const id of chunk) {
            const r = byId(id);
            if (r !== null) out.push(r);
          }
        });
      }
      return out;
    },

    async insertMany(items: readonly InsertItem[]) {
      const added: string[] = [];
      const duplicates: string[] = [];
      for await (const chunk of inChunks(items)) {
        // Seal secrets outside the transaction: the write lock is held only for the writes.
        const values = conn.run("insert credentials", () => chunk.map((item) => recordValues(item.record, box)));
        await conn.writePatiently("insert credentials", () => {
          const insert = conn.prepare(INSERT_CREDENTIAL_SQL);
          const fresh: string[] = [];
          chunk.forEach(({ record, event }, i) => {
            const num = numberFor(conn, record.id);
            if (insert.run(num, ...values[i]!).changes === 1) {
              insertEvent(conn, event, event.credentialId === record.id ? num : undefined);
              fresh.push(record.id);
            } else duplicates.push(record.id);
          });
          feed.record("upsert", fresh);
          added.push(...fresh);
        });
      }
      return { added, duplicates };
    },

    async removeMany(items: readonly { id: string; event: AuditEvent }[]) {
      const gone = new Set<number>(); // positions in `items`
      for await (const chunk of inChunks(await resolve(items))) {
        await conn.writePatiently("remove credentials", () => {
          const remove = conn.prepare("DELETE FROM credentials WHERE num = ?");
          const ids: string[] = [];
          for (const { at, num, event } of chunk) {
            if (remove.run(num).changes !== 1) continue;
            insertEvent(conn, event, event.credentialId === items[at]!.id ? num : undefined);
            ids.push(items[at]!.id);
            gone.add(at);
          }
          feed.record("remove", ids);
        });
      }
      return items.filter((_, at) => gone.has(at)).map((item) => item.id);
    },

    async update(id: string, patch: CredentialPatch, options: UpdateOptions = {}) {
      const { columns, values } = conn.run("update credential", () => patchAssignments(patch, box));
      const from = options.from;
      const sql =
        `UPDATE credentials SET ${[...columns.map((c) => `${c} = ?`), "rev = rev + 1"].join(", ")} WHERE num = ${NUM_OF_ID}` +
        (from === undefined ? "" : ` AND state IN (${from.map(() => "?").join(", ")})`) +
        " RETURNING *";
      const apply = (): CredentialRecord | null => {
        // The compare-and-set is the WHERE clause: no row comes back when the id is gone or `from` failed.
        const row = conn.prepare(sql).get(...values, id, ...(from ?? []));
        if (row === undefined) return null;
        const event = options.event;
        if (event !== undefined) insertEvent(conn, event, event.credentialId === id ? Number(row.num) : undefined);
        feed.record("upsert", [id]);
        return rowToRecord(row, box);
      };
      return options.quick === true ? conn.writeQuick("update credential", apply) : conn.writePatiently("update credential", apply);
    },

    async bumpStats(deltas: readonly StatsDelta[]) {
      // Counters only: no rev, no event, no change row (as in the memory store); write-behind traffic stays cheap.
      for await (const chunk of inChunks(deltas)) {
        conn.writeQuick("bump credential stats", () => {
          const bump = conn.prepare(BUMP_STATS_SQL);
          for (const d of chunk) bump.run(d.requests, d.failures, d.spentUsd, d.lastUsedAt, d.id);
        });
      }
    },
  };
}
