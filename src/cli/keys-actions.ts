/**
 * What `keypool keys …` does: on the local store (`--store`, else
 * KEYPOOL_STORE), or on a running gateway (`--url` and its admin token).
 * Loaded only when a keys command runs.
 */
import { NotFoundError, ValidationError } from "../errors/index.ts";
import type { ProbeResult } from "../pool/health/checker.ts";
import type { Pool } from "../pool/pool.ts";
import { CREDENTIAL_STATES, type CredentialInput, type CredentialState, type CredentialView } from "../pool/types.ts";
import { importEntries, poolAdder, type Adder, type ImportReport } from "../gateway/keys-import.ts";
import { AdminClient, type RemoteFlags } from "./admin-client.ts";
import { readKeySources, withDefaults } from "./key-sources.ts";
import { openCliPool } from "./open-pool.ts";
import { Progress } from "./progress.ts";
import { ago, renderTable } from "./table.ts";
import { credentialId } from "../pool/credential-record.ts";
import { maskSecret } from "../util/mask.ts";
import { scrubSecrets } from "../util/scrub.ts";

export interface TargetFlags extends RemoteFlags {
  store?: string;
}

/** Runs `fn` on a local pool (closed afterwards) or hands back the remote client. */
async function withTarget<T>(flags: TargetFlags, remote: (c: AdminClient) => Promise<T>, local: (pool: Pool) => Promise<T>): Promise<T> {
  const client = AdminClient.from(flags);
  if (client !== null) return remote(client);
  const prefix = process.env.KEYPOOL_REDIS_PREFIX;
  const pool = await openCliPool(flags.store === undefined ? {} : { store: flags.store }, prefix === undefined || prefix === "" ? {} : { redisPrefix: prefix });
  try {
    return await local(pool);
  } finally {
    await pool.close();
  }
}

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);

// ---- add -----------------------------------------------------------------

export interface AddFlags extends TargetFlags {
  fromFile?: string;
  fromRedisSet?: string;
  label?: string;
  upstream?: string;
  models?: string;
  weight?: string;
  json?: boolean;
}

function remoteAdder(client: AdminClient): Adder {
  return async (inputs) => {
    const r = await client.json<ImportReport>("POST", "/admin/keys", { keys: inputs });
    return new Set(r.results.filter((x) => x.status === "added").map((x) => x.id!));
  };
}

export async function addKeys(args: string[], flags: AddFlags): Promise<void> {
  const defaults: Partial<CredentialInput> = {};
  if (flags.label !== undefined) defaults.label = flags.label;
  if (flags.upstream !== undefined) defaults.baseURL = flags.upstream;
  if (flags.models !== undefined) defaults.models = flags.models.split(",").map((m) => m.trim()).filter((m) => m !== "");
  if (flags.weight !== undefined) defaults.weight = Number(flags.weight);
  const entries = withDefaults(await readKeySources(args, flags), defaults);
  if (entries.length === 0) throw new ValidationError("no keys given: pass keys, --from-file FILE, - (stdin) or --from-redis-set URL", "keys");
  const progress = new Progress("adding keys");
  const report = await withTarget(
    flags,
    (c) => importEntries(remoteAdder(c), entries, (d, t) => progress.update(d, t)),
    (pool) => importEntries(poolAdder(pool), entries, (d, t) => progress.update(d, t)),
  );
  progress.done();
  const where = new Map(entries.map((e) => [e.line, e.where]));
  if (flags.json === true) out(`${JSON.stringify({ ...report, results: report.results.map((r) => ({ ...r, where: where.get(r.line) })) }, null, 2)}\n`);
  else {
    for (const r of report.results) {
      if (r.status === "malformed") err(`${where.get(r.line)}: ${r.message}\n`);
    }
    out(`added ${report.added}, already present ${report.duplicates}, malformed ${report.malformed}\n`);
  }
  if (report.malformed > 0) throw new ValidationError(`${report.malformed} malformed line(s), named above; the valid ones were added`, "keys");
}

// ---- list ----------------------------------------------------------------

export async function listKeys(flags: TargetFlags & { json?: boolean; state?: string }): Promise<void> {
  if (flags.state !== undefined && !(CREDENTIAL_STATES as readonly string[]).includes(flags.state)) {
    throw new ValidationError(`--state must be one of ${CREDENTIAL_STATES.join(", ")}`, "--state");
  }
  const state = flags.state as CredentialState | undefined;
  const views = await withTarget(
    flags,
    async (c) => (await c.json<{ data: CredentialView[] }>("GET", `/admin/keys${state === undefined ? "" : `?state=${state}`}`)).data,
    async (pool) => pool.list(state === undefined ? {} : { state }),
  );
  if (flags.json === true) {
    out(`${JSON.stringify(views, null, 2)}\n`);
    return;
  }
  if (views.length === 0) {
    out(state === undefined ? "no keys: add some with keypool keys add KEY...\n" : `no ${state} keys\n`);
    return;
  }
  const now = Date.now();
  out(
    renderTable(
      [
        { title: "ID", value: (v: CredentialView) => v.id, max: 24 },
        { title: "KEY", value: (v) => v.key },
        { title: "LABEL", value: (v) => v.label ?? "-", max: 24 },
        { title: "STATE", value: (v) => v.state },
        { title: "REASON", value: (v) => v.reason ?? "-", max: 36 },
        { title: "SINCE", value: (v) => ago(v.since, now) },
        { title: "REQUESTS", value: (v) => String(v.requests), align: "right" },
        { title: "FAILURES", value: (v) => String(v.failures), align: "right" },
        { title: "LAST USED", value: (v) => ago(v.lastUsedAt, now) },
      ],
      views,
    ),
  );
  const counts = new Map<string, number>();
  for (const v of views) counts.set(v.state, (counts.get(v.state) ?? 0) + 1);
  out(`${views.length} key(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(", ")}\n`);
}

// ---- rm / enable / disable --------------------------------------------------

/** Ids as the user gave them may be keys: shown by id (or masked), never whole. */
const shown = (id: string): string => (id.startsWith("key_") ? id : `${credentialId(id)} (${maskSecret(id)})`);

async function eachId(ids: string[], flags: TargetFlags, verb: string, remote: (c: AdminClient, id: string) => Promise<void>, local: (pool: Pool, id: string) => Promise<void>): Promise<void> {
  let failed = 0;
  const run = async (fn: (id: string) => Promise<void>): Promise<void> => {
    for (const raw of ids) {
      const id = raw.startsWith("key_") ? raw : credentialId(raw);
      try {
        await fn(id);
        out(`${verb} ${shown(raw)}\n`);
      } catch (e) {
        failed++;
        err(`${shown(raw)}: ${scrubSecrets((e as Error).message)}\n`);
      }
    }
  };
  await withTarget(
    flags,
    (c) => run((id) => remote(c, id)),
    (pool) => run((id) => local(pool, id)),
  );
  if (failed > 0) throw new ValidationError(`${failed} of ${ids.length} failed, named above`, "ids");
}

const enc = encodeURIComponent;

export function removeKeys(ids: string[], flags: TargetFlags): Promise<void> {
  return eachId(
    ids,
    flags,
    "removed",
    async (c, id) => void (await c.json("DELETE", `/admin/keys/${enc(id)}`)),
    async (pool, id) => {
      if (pool.get(id) === null) throw new NotFoundError("credential", id);
      await pool.remove(id, "removed with the CLI");
    },
  );
}

export function switchKeys(action: "enable" | "disable", ids: string[], flags: TargetFlags & { note?: string }): Promise<void> {
  return eachId(
    ids,
    flags,
    `${action}d`,
    async (c, id) => void (await c.json("POST", `/admin/keys/${enc(id)}/${action}`, flags.note === undefined ? {} : { note: flags.note })),
    async (pool, id) => void (action === "enable" ? await pool.enable(id, flags.note) : await pool.disable(id, flags.note ?? "disabled with the CLI")),
  );
}

// ---- probe -----------------------------------------------------------------

export async function probeKeys(ids: string[], flags: TargetFlags & { all?: boolean; json?: boolean }): Promise<void> {
  if (ids.length === 0 && flags.all !== true) throw new ValidationError("name the keys to probe, or --all", "ids");
  if (ids.length > 0 && flags.all === true) throw new ValidationError("give key ids or --all, not both", "ids");
  const progress = new Progress("probing");
  const body = ids.length > 0 ? { ids } : {};
  const results = await withTarget(
    flags,
    async (c) => {
      const list: ProbeResult[] = [];
      for await (const line of c.lines<{ type: string; done?: number; total?: number; result?: ProbeResult }>("POST", "/admin/keys/probe", body)) {
        if (line.type === "progress") {
          list.push(line.result!);
          progress.update(line.done!, line.total!);
        }
      }
      return list;
    },
    (pool) => {
      const resolved = ids.map((id) => pool.get(id)?.id ?? id);
      return pool.probe({ ...(ids.length > 0 ? { ids: resolved } : {}), onProgress: (d, t) => progress.update(d, t) });
    },
  );
  progress.done();
  if (flags.json === true) {
    out(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  if (results.length === 0) {
    out("nothing to probe\n");
    return;
  }
  out(
    renderTable(
      [
        { title: "ID", value: (r: ProbeResult) => r.id, max: 24 },
        { title: "KEY", value: (r) => r.key },
        { title: "BEFORE", value: (r) => r.before },
        { title: "AFTER", value: (r) => r.after },
        { title: "FINDING", value: (r) => (r.error === undefined ? r.finding : `${r.finding}: ${r.error}`), max: 60 },
      ],
      results,
    ),
  );
}
