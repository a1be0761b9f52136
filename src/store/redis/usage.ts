/**
 * Metered usage as hourly rollups: one hash per hour whose fields are
 * "{metric}{json [credentialId, tokenId, model]}" (metric r = requests,
 * p = prompt tokens, c = completion tokens, u = USD). A record is counted by a
 * script that first sets its "seen" marker (SET NX EX), so a replay after a
 * reconnect is never counted twice while the marker lives.
 */
import type { UsageRecord } from "../../pool/types.ts";
import type { UsageQuery, UsageRepo } from "../types.ts";
import { hourStart, groupRollups, type HourlyRollup } from "../usage-rollup.ts";
import { chunk, eachBatch, execPipeline } from "./batches.ts";
import type { StoreContext } from "./options.ts";
import { queueScript } from "./scripts.ts";

type Group = [credentialId: string, tokenId: string | null, model: string];
const METRICS = { r: "requests", p: "promptTokens", c: "completionTokens", u: "costUsd" } as const;
type Metric = keyof typeof METRICS;
const isMetric = (c: string): c is Metric => Object.hasOwn(METRICS, c);

function rollupsOfHour(hour: number, hash: Record<string, string>): HourlyRollup[] {
  const byGroup = new Map<string, HourlyRollup>();
  for (const [field, value] of Object.entries(hash)) {
    const metric = field[0] ?? "";
    if (!isMetric(metric)) continue;
    const groupJson = field.slice(1);
    let row = byGroup.get(groupJson);
    if (row === undefined) {
      const [credentialId, tokenId, model] = JSON.parse(groupJson) as Group;
      row = { hour, credentialId, tokenId, model, requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
      byGroup.set(groupJson, row);
    }
    row[METRICS[metric]] = Number(value);
  }
  return [...byGroup.values()];
}

export function redisUsageRepo(ctx: StoreContext): UsageRepo {
  const { link, keys, settings } = ctx;

  return {
    async record(records: readonly UsageRecord[]) {
      if (records.length === 0) return;
      await link.run("usage.record", (redis) =>
        eachBatch(chunk(records), (batch) => {
          const pipeline = redis.pipeline();
          for (const r of batch) {
            const hour = hourStart(r.time);
            const group = JSON.stringify([r.credentialId, r.tokenId, r.model] satisfies Group);
            const scriptKeys = [keys.usageSeen(r.id), keys.usageHour(hour), keys.usageHours];
            if (r.tokenId !== null) scriptKeys.push(keys.token(r.tokenId));
            queueScript(pipeline, "kpUsage", scriptKeys, [settings.usageDedupTtlSec, hour, group, r.promptTokens, r.completionTokens, r.costUsd, r.time]);
          }
          return execPipeline(pipeline);
        }),
      );
    },

    async query(q: UsageQuery = {}) {
      const rows = await link.run("usage.query", async (redis) => {
        // Hours overlapping [from, to): an hour starting before `from` may still reach into it.
        const min = q.from === undefined ? "-inf" : String(hourStart(q.from));
        const max = q.to === undefined ? "+inf" : `(${q.to}`;
        const hours = (await redis.zrangebyscore(keys.usageHours, min, max)).map(Number);
        const batches = await eachBatch(chunk(hours), async (batch) => {
          const pipeline = redis.pipeline();
          for (const hour of batch) pipeline.hgetall(keys.usageHour(hour));
          const hashes = (await execPipeline(pipeline)) as Record<string, string>[];
          return hashes.flatMap((hash, i) => rollupsOfHour(batch[i]!, hash));
        });
        return batches.flat();
      });
      return groupRollups(rows, q);
    },
  };
}
