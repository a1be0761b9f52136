/**
 * `GET /v1/models`: the union of what the pool's usable credentials serve.
 * Keys without an allow-list serve what their upstream lists (asked through
 * the pool, cached for a minute); keys with one serve their list. A client
 * token with its own model list sees only those.
 */
import type { Readable } from "node:stream";
import type { Pool } from "../../pool/pool.ts";
import { dispatch } from "../../transport/dispatch.ts";
import type { Dispatchers } from "../../transport/dispatchers.ts";
import { readBounded } from "../../transport/send.ts";
import type { Caller, ClientAuth } from "../auth/client-auth.ts";
import { KeypoolError } from "../../errors/index.ts";

export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

export class ModelsCatalog {
  readonly #pool: Pool;
  readonly #dispatchers: Dispatchers;
  readonly #ttlMs: number;
  #upstream: { at: number; list: ModelEntry[] } | null = null;
  #loading: Promise<ModelEntry[]> | null = null;

  constructor(pool: Pool, dispatchers: Dispatchers, ttlMs = 60_000) {
    this.#pool = pool;
    this.#dispatchers = dispatchers;
    this.#ttlMs = ttlMs;
  }

  async list(caller: Caller, auth: ClientAuth): Promise<{ object: "list"; data: ModelEntry[] }> {
    const allowed = new Set<string>();
    let anyOpen = false;
    for (const e of this.#pool.index.entries.values()) {
      const r = e.record;
      if (r.kind !== "api" || (r.state !== "active" && r.state !== "cooling")) continue;
      if (r.models === null) anyOpen = true;
      else for (const m of r.models) allowed.add(m);
    }
    const byId = new Map<string, ModelEntry>();
    let upstream: ModelEntry[] = [];
    if (anyOpen) {
      try {
        upstream = await this.#upstreamList();
      } catch (err) {
        if (allowed.size === 0) throw err;
      }
      for (const m of upstream) byId.set(m.id, m);
    }
    const known = new Map(upstream.map((m) => [m.id, m]));
    for (const id of allowed) if (!byId.has(id)) byId.set(id, known.get(id) ?? { id, object: "model", created: 0, owned_by: "keypool" });
    const data = [...byId.values()].filter((m) => auth.allows(caller, m.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { object: "list", data };
  }

  async #upstreamList(): Promise<ModelEntry[]> {
    if (this.#upstream !== null && Date.now() - this.#upstream.at < this.#ttlMs) return this.#upstream.list;
    // Shared by every caller waiting for it: its own time limit, not one caller's signal.
    this.#loading ??= this.#fetch(AbortSignal.timeout(15_000)).finally(() => (this.#loading = null));
    return this.#loading;
  }

  async #fetch(signal: AbortSignal): Promise<ModelEntry[]> {
    const d = await dispatch(this.#pool, this.#dispatchers, { method: "GET", path: "/models", headers: [["accept", "application/json"]], body: null, model: null, signal });
    const raw = Buffer.isBuffer(d.body) ? d.body : await readBounded(d.body as Readable, 8 * 1024 * 1024);
    if (d.status !== 200) throw new KeypoolError("KP_UPSTREAM", `the upstream answered ${d.status} to GET /models`, { status: 502, type: "upstream_error" });
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new KeypoolError("KP_UPSTREAM", "the upstream's model list is not JSON", { status: 502, type: "upstream_error" });
    }
    const data = (parsed as { data?: unknown }).data;
    const list: ModelEntry[] = [];
    if (Array.isArray(data)) {
      for (const m of data) {
        const o = m as Record<string, unknown>;
        if (typeof o?.id !== "string") continue;
        list.push({ id: o.id, object: "model", created: typeof o.created === "number" ? o.created : 0, owned_by: typeof o.owned_by === "string" ? o.owned_by : "unknown" });
      }
    }
    this.#upstream = { at: Date.now(), list };
    return list;
  }
}
