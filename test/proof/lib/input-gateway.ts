/**
 * The gateway the bad-input scenarios hit: a `keypool serve` process on
 * SQLite with short client timeouts and a 64 KB body limit, two keys, a
 * valid client token, a revoked one and an expired one, and something of
 * every kind stored; plus a snapshot of what the store holds, to show bad
 * input changed none of it.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import type { ImportReport } from "../../../src/gateway/keys-import.ts";
import { startSimulator, type Simulator } from "../../../src/sim/index.ts";
import { openStore } from "../../../src/store/open-store.ts";
import { tempDir } from "../../store/sqlite-temp.ts";
import { adminJson, adminToken, captureOutput, kill, proofKey, sdk, serve, sleep, type Gw } from "./gateway.ts";
import type { LeakScan } from "./leaks.ts";
import type { Answer } from "./raw-http.ts";

export interface InputGateway {
  sim: Simulator;
  gw: Gw;
  admin: string;
  keys: string[];
  /** A valid client token, a revoked one, an expired one. */
  token: string;
  revoked: string;
  expired: string;
  /** Requests sent through `call` so far. */
  readonly sent: number;
  /** A request whose answer (headers and body) joins the secrets hunt. */
  call(what: string, path: string, init?: RequestInit & { auth?: string | null }): Promise<Answer>;
  /** What the store holds that bad input must not change. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export async function inputGateway(name: string, leaks: LeakScan): Promise<InputGateway> {
  const dir = tempDir("keypool-proof-input-");
  const admin = adminToken();
  const spec = `sqlite:${dir.file()}`;
  const keys = [proofKey(`${name}1`), proofKey(`${name}2`)];
  const sim = await startSimulator({ keys: Object.fromEntries(keys.map((k) => [k, "ok"])) });
  leaks.secrets("upstream key", keys);
  leaks.secret("admin token", admin);
  const config = dir.file("gateway.json");
  writeFileSync(config, JSON.stringify({ headersTimeoutMs: 1000, requestTimeoutMs: 1500, maxBodyBytes: "64kb" }));
  const gw = await serve(`gateway under ${name}`, ["--store", spec, "--health-interval", "0", "--config", config], { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: admin });
  const added = await adminJson<ImportReport>(gw, admin, "/admin/keys", { method: "POST", body: JSON.stringify({ keys }) });
  assert.equal(added.added, keys.length);
  const mk = (body: Record<string, unknown>): Promise<{ id: string; token: string }> => adminJson(gw, admin, "/admin/tokens", { method: "POST", body: JSON.stringify(body) });
  const token = (await mk({ name: "valid" })).token;
  const r = await mk({ name: "to revoke" });
  await adminJson(gw, admin, `/admin/tokens/${r.id}`, { method: "DELETE" });
  const expired = (await mk({ name: "short-lived", expiresAt: Date.now() + 1500 })).token;
  for (const t of [token, r.token, expired]) leaks.secret("client token", t);
  // Something stored of every kind: usage, an audit trail.
  assert.ok((await sdk(gw, token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] })).id);
  await sleep(1600); // the short-lived token is expired now

  let sent = 0;
  return {
    sim,
    gw,
    admin,
    keys,
    token,
    revoked: r.token,
    expired,
    get sent() {
      return sent;
    },
    async call(what, path, init = {}) {
      const { auth, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (auth !== undefined && auth !== null) headers.set("authorization", auth);
      let res: Response;
      try {
        res = await fetch(`${gw.url}${path}`, { ...rest, headers, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        throw new Error(`${what}: ${(err as Error).message} (${((err as Error).cause as Error | undefined)?.message ?? "no cause"})`, { cause: err });
      }
      const body = await leaks.body(what, res);
      sent++;
      return { status: res.status, body, headers: Object.fromEntries(res.headers) };
    },
    async snapshot() {
      const store = await openStore(spec);
      try {
        const creds = (await store.credentials.list()).map((c) => [c.id, c.state, c.rev, c.reason, c.label, c.weight, c.models]).sort();
        const tokens = (await store.tokens.list()).map((t) => [t.id, t.usedTokens, t.revokedAt, t.expiresAt, t.lastUsedAt]);
        const events = (await store.events.query({ limit: 10_000 })).map((e) => e.id);
        const usage = await store.usage.query({});
        const convs = await store.conversations.list({});
        return JSON.stringify({ creds, tokens, events, usage, convs });
      } finally {
        await store.close();
      }
    },
    async close() {
      await kill(gw, "SIGTERM");
      captureOutput(leaks, gw);
      await sim.close();
      dir.remove();
    },
  };
}
