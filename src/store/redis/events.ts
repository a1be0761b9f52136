/**
 * The audit log: sorted sets with score 0 whose members "{eventId}\t{json}"
 * order by event id (time-ordered), so "newest first, older than X" is one
 * ZRANGE ... BYLEX REV. A global index plus one per credential and per kind;
 * each is capped (see RedisStoreOptions), the oldest events dropping out first.
 */
import type { AuditEvent } from "../../pool/types.ts";
import type { EventQuery, EventRepo } from "../types.ts";
import { chunk, eachBatch } from "./batches.ts";
import type { StoreContext } from "./options.ts";
import { runScript } from "./scripts.ts";

const SEP = "\t";

export function eventMember(event: AuditEvent): string {
  return `${event.id}${SEP}${JSON.stringify(event)}`;
}

function parseMember(member: string): AuditEvent {
  return JSON.parse(member.slice(member.indexOf(SEP) + 1)) as AuditEvent;
}

/** The keys an event is indexed under, after the global one. */
export function eventIndexKeys(ctx: StoreContext, event: AuditEvent): [byCred: string, byKind: string] {
  return [ctx.keys.eventsByCred(event.credentialId), ctx.keys.eventsByKind(event.kind)];
}

const DEFAULT_LIMIT = 100;
/** Appends per script call: each is one atomic step of a few milliseconds. */
const APPEND_BATCH = 500;

export function redisEventRepo(ctx: StoreContext): EventRepo {
  const { link, keys, settings } = ctx;

  return {
    async append(events) {
      if (events.length === 0) return;
      await link.run("events.append", (redis) =>
        eachBatch(chunk(events, APPEND_BATCH), (batch) => {
          const scriptKeys = [keys.events];
          const args: (string | number)[] = [settings.eventCap, settings.eventCapPerCredential];
          for (const e of batch) {
            scriptKeys.push(...eventIndexKeys(ctx, e));
            args.push(eventMember(e));
          }
          return runScript(redis, "kpAppend", scriptKeys, args);
        }),
      );
    },

    async query(q: EventQuery = {}) {
      const limit = q.limit ?? DEFAULT_LIMIT;
      if (limit <= 0) return [];
      // The narrowest index answers; a kind filter on a credential's index is applied here.
      const index = q.credentialId !== undefined ? keys.eventsByCred(q.credentialId) : q.kind !== undefined ? keys.eventsByKind(q.kind) : keys.events;
      const filterKind = q.credentialId !== undefined ? q.kind : undefined;
      const page = filterKind === undefined ? limit : Math.max(limit * 2, 100);
      return link.run("events.query", async (redis) => {
        const out: AuditEvent[] = [];
        let upper = q.before === undefined ? "+" : `(${q.before}`;
        for (;;) {
          const members = (await redis.call("ZRANGE", index, upper, "-", "BYLEX", "REV", "LIMIT", 0, page)) as string[];
          for (const m of members) {
            const e = parseMember(m);
            if (filterKind !== undefined && e.kind !== filterKind) continue;
            out.push(e);
            if (out.length === limit) return out;
          }
          if (members.length < page) return out;
          upper = `(${members[members.length - 1]!}`;
        }
      });
    },
  };
}
