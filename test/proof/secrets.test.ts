/**
 * Secrets and access. Secrets at rest: a gateway on SQLite, and one on
 * Redis, run with KEYPOOL_SECRET_KEY hold no plain secret (the SQLite file's
 * bytes with its WAL; every Redis value under the prefix) — API keys, a web
 * session token and its rotated successor, the access token it got, its
 * cf_clearance — and a store written with the key can't be opened without
 * it, or with another, by the gateway or the CLI: a clear error naming
 * KEYPOOL_SECRET_KEY. With the key, it serves. Everything those runs print
 * (debug logs, the CLI, admin answers, metrics, error bodies) is searched
 * for whole secrets. Token checks: every wrong token, whatever its length or
 * prefix, takes one path (a sha256 digest, then a lookup or a
 * timingSafeEqual on 32 bytes); wrong and almost-right tokens are timed.
 */
import assert from "node:assert/strict";
import crypto, { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { after, describe, it } from "node:test";
import { ChatClient } from "../../src/chat/index.ts";
import { createPool } from "../../src/create-pool.ts";
import { ClientAuth } from "../../src/gateway/auth/client-auth.ts";
import { issueToken } from "../../src/gateway/auth/token-issue.ts";
import { checkAdmin } from "../../src/gateway/admin/router.ts";
import type { GatewayContext } from "../../src/gateway/context.ts";
import type { ImportReport } from "../../src/gateway/keys-import.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { openMemoryStore } from "../../src/store/memory/index.ts";
import type { Store } from "../../src/store/types.ts";
import { deletePrefix, rawClient, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { Figures } from "./lib/figures.ts";
import { adminFetch, adminJson, adminToken, captureOutput, cli, kill, proofKey, sdk, secretLike, serve, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";

/** Every value under a prefix, whatever its type, as one text. */
async function redisValues(url: string, prefix: string): Promise<{ keys: number; text: string }> {
  const client = rawClient(url);
  await client.connect();
  try {
    let cursor = "0";
    const parts: string[] = [];
    let keys = 0;
    do {
      const [next, batch] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      for (const k of batch) {
        keys++;
        const type = await client.type(k);
        parts.push(k);
        if (type === "string") parts.push((await client.get(k)) ?? "");
        else if (type === "hash") parts.push(JSON.stringify(await client.hgetall(k)));
        else if (type === "zset") parts.push(JSON.stringify(await client.zrange(k, "0", "-1")));
        else if (type === "set") parts.push(JSON.stringify(await client.smembers(k)));
        else if (type === "list") parts.push(JSON.stringify(await client.lrange(k, 0, -1)));
      }
    } while (cursor !== "0");
    return { keys, text: parts.join("\n") };
  } finally {
    client.disconnect();
  }
}

const fileBytes = (path: string): Buffer => Buffer.concat([path, `${path}-wal`, `${path}-shm`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));

describe("secrets and access", () => {
  const fig = new Figures("secrets", 9, "Secrets at rest, in output, and token checks");
  const leaks = new LeakScan();
  const dir = tempDir("keypool-proof-secrets-");
  const redis = redisUrl(13);
  const prefix = testPrefix("proof-secrets");
  let sim: Simulator | undefined;
  const gateways: Gw[] = [];
  after(async () => {
    await Promise.all(gateways.map((g) => kill(g)));
    for (const g of gateways) captureOutput(leaks, g);
    await sim?.close();
    dir.remove();
    await deletePrefix(redis, prefix);
    leaks.check(fig);
    fig.save();
  });

  for (const kind of ["sqlite", "redis"] as const) {
    it(`${kind}: a store written with KEYPOOL_SECRET_KEY holds no plain secret, and opens only with that key`, async (t) => {
      if (kind === "redis") await requireRedis(redis);
      const SECRET_KEY = secretLike("secret-key-");
      const ADMIN = adminToken();
      const keys = { ok: proofKey(`rest${kind}ok`), dead: proofKey(`rest${kind}dead`), broke: proofKey(`rest${kind}broke`) };
      const session = secretLike(`sess-proof-${kind}-`, 16);
      const cf = secretLike("cf-clearance-", 16);
      sim ??= await startSimulator({});
      sim.setKey(keys.ok, "ok");
      sim.setKey(keys.dead, "invalid");
      sim.setKey(keys.broke, "quota");
      sim.setSession(session, "rotate");
      leaks.secrets("upstream key", Object.values(keys));
      leaks.secrets("session token, cf_clearance, admin token, secret key", [session, cf, ADMIN, SECRET_KEY]);
      const spec = kind === "sqlite" ? `sqlite:${dir.file(`${kind}.db`)}` : redis;
      const storeEnv: Record<string, string> = kind === "redis" ? { KEYPOOL_REDIS_PREFIX: prefix } : {};
      const env = { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: ADMIN, ...storeEnv };
      const args = ["--store", spec, "--health-interval", "0", "--log-level", "debug", "--strategy", "round-robin"];
      const gw = await serve(`gateway on ${kind} with KEYPOOL_SECRET_KEY`, args, { ...env, KEYPOOL_SECRET_KEY: SECRET_KEY });
      gateways.push(gw);

      const added = await adminJson<ImportReport>(gw, ADMIN, "/admin/keys", {
        method: "POST",
        body: JSON.stringify({ keys: [...Object.values(keys), { secret: session, kind: "web", baseURL: sim.url, meta: { cfClearance: cf, userAgent: "proof/1.0" } }] }),
      });
      assert.equal(added.added, 4);
      const { token } = await adminJson<{ token: string }>(gw, ADMIN, "/admin/tokens", { method: "POST", body: JSON.stringify({ name: "at rest" }) });
      leaks.secret("client token", token);
      const client = sdk(gw, token);
      for (let i = 0; i < 6; i++) {
        const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `at rest ${i}` }] }).catch((err: unknown) => err as Error);
        leaks.add("an SDK answer or error", JSON.stringify(r));
      }
      // A web chat on the same store (same key): the session rotates and an access token is cached in it.
      const pool = await createPool({ store: spec, secretKey: SECRET_KEY, upstream: `${sim.url}/v1`, health: false, ...(kind === "redis" ? { redisPrefix: prefix } : {}) });
      let rotated: string;
      let access: string;
      try {
        const web = new ChatClient({ pool, backend: "web" });
        await web.session("alice").send("hello over the web");
        const rec = pool.list().map((v) => pool.record(v.id)!).find((r) => r.kind === "web")!;
        rotated = rec.secret;
        access = rec.meta.accessToken!;
        assert.notEqual(rotated, session, "the session token rotated");
        assert.ok(access.length > 20, "an access token was cached");
      } finally {
        await pool.close();
      }
      leaks.secrets("rotated session token, access token", [rotated, access]);
      const outputs = ["/admin/keys", "/admin/events?limit=500", "/admin/tokens", "/admin/stats", "/admin/usage?groupBy=credential,token", `/admin/keys/${added.results[0]!.id}`];
      for (const path of outputs) await leaks.body(`admin ${path}`, await adminFetch(gw, ADMIN, path));
      await leaks.body("metrics", await fetch(`${gw.url}/metrics`));
      await kill(gw, "SIGTERM");

      // At rest: not one plain secret.
      const plain = [...Object.values(keys), session, rotated, access, cf, token, ADMIN, SECRET_KEY];
      let scanned: number;
      if (kind === "sqlite") {
        const bytes = fileBytes(spec.slice("sqlite:".length));
        scanned = bytes.length;
        for (const s of plain) assert.ok(!bytes.includes(s), `not in the SQLite file or its WAL: ${s.slice(0, 12)}…`);
      } else {
        const { keys: n, text } = await redisValues(redis, prefix);
        scanned = Buffer.byteLength(text);
        assert.ok(n > 10, `scanned ${n} Redis keys`);
        for (const s of plain) assert.ok(!text.includes(s), `not in any Redis value: ${s.slice(0, 12)}…`);
      }
      fig.note(`${kind}: ${scanned} bytes at rest searched for ${plain.length} secrets (API keys, a session token and its rotation, an access token, cf_clearance, client and admin tokens, the secret key): none`);

      // Without the key, or with another: refused, naming KEYPOOL_SECRET_KEY. The CLI too.
      for (const [what, extra, want] of [
        ["without KEYPOOL_SECRET_KEY", {}, /encrypted secrets: set KEYPOOL_SECRET_KEY/],
        ["with another KEYPOOL_SECRET_KEY", { KEYPOOL_SECRET_KEY: secretLike("other-key-") }, /KEYPOOL_SECRET_KEY differs/],
      ] as const) {
        const r = await cli(["serve", ...args, "--port", "0"], { ...env, ...extra }, "", 15_000);
        leaks.add(`serve ${what}`, r.stdout + r.stderr);
        assert.ok(!r.timedOut && r.code !== 0, `serve ${what} refuses to start: ${r.stderr}`);
        assert.match(r.stderr, want, `serve ${what}`);
        const list = await cli(["keys", "list", "--store", spec], { ...storeEnv, ...extra }, "", 15_000);
        leaks.add(`keys list ${what}`, list.stdout + list.stderr);
        assert.ok(list.code !== 0 && want.test(list.stderr), `keys list ${what}: ${list.stderr}`);
        if (what.startsWith("without")) fig.fault(`${kind === "sqlite" ? "SQLite" : "Redis"} store opened without its KEYPOOL_SECRET_KEY, and with another`);
      }
      // With it: the CLI lists the keys masked, and a gateway serves again.
      const list = await cli(["keys", "list", "--store", spec, "--json"], { ...storeEnv, KEYPOOL_SECRET_KEY: SECRET_KEY }, "", 15_000);
      leaks.add("keys list with the key", list.stdout + list.stderr);
      assert.equal(list.code, 0, list.stderr);
      assert.equal((JSON.parse(list.stdout) as { state: string }[]).length, 4);
      const tokens = await cli(["tokens", "list", "--store", spec], { ...storeEnv, KEYPOOL_SECRET_KEY: SECRET_KEY }, "", 15_000);
      leaks.add("tokens list", tokens.stdout + tokens.stderr);
      const again = await serve(`gateway on ${kind}, restarted with the key`, args, { ...env, KEYPOOL_SECRET_KEY: SECRET_KEY });
      gateways.push(again);
      const r = await sdk(again, token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "decrypted?" }] });
      assert.ok(r.id, "serves with the key it was written with");
      const states = (await adminJson<{ data: { key: string; state: string }[] }>(again, ADMIN, "/admin/keys")).data;
      leaks.add("admin keys after the restart", JSON.stringify(states));
      assert.deepEqual(states.map((s) => s.state).sort(), ["active", "active", "quarantined", "retired"]);
      await kill(again, "SIGTERM");
      fig.sent(6 + 1 + outputs.length + 2);
      fig.checked(plain.length, 0);
      t.diagnostic(fig.data.notes.at(-1)!);
    });
  }

  it("token checks: every wrong token takes one path (sha256, then a compare of two hex digests or a lookup by digest), timed against almost-right ones", async (t) => {
    // Spy on timingSafeEqual as the gateway's modules see it.
    const real = crypto.timingSafeEqual;
    const compares: [number, number][] = [];
    crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compares.push([a.byteLength, b.byteLength]);
      return real(a, b);
    }) as typeof crypto.timingSafeEqual;
    syncBuiltinESMExports();
    try {
      const inner = openMemoryStore();
      const lookups: string[] = [];
      const store: Store = { ...inner, tokens: { ...inner.tokens, findByHash: (h: string) => (lookups.push(h), inner.tokens.findByHash(h)) } };
      const auth = new ClientAuth(store, { loopbackOnly: true });
      const { token } = await issueToken(store, { name: "real" });
      const ADMIN = adminToken();
      const ctx = { adminToken: createHash("sha256").update(ADMIN).digest() } as unknown as GatewayContext;
      const wrongs = [
        "a",
        "kp-",
        `kp-${"A".repeat(43)}`,
        token.slice(0, -1),
        `${token}x`,
        `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`,
        "x".repeat(300),
        "sk-proj-1234567890",
        "ünïcødé-token",
        ADMIN,
        ...Array.from({ length: 40 }, (_, i) => crypto.randomBytes(1 + i * 3).toString("base64url")),
      ];
      // Client tokens: a digest, one lookup by its 64-hex form, the same refusal.
      for (const w of wrongs) {
        lookups.length = 0;
        compares.length = 0;
        await assert.rejects(auth.authenticate(`Bearer ${w}`), (err: Error & { code?: string }) => err.code === "KP_TOKEN_INVALID");
        assert.deepEqual(lookups.map((h) => h.length), [64], `one lookup by digest for a token of ${w.length} characters`);
        assert.ok(compares.every(([a, b]) => a === 64 && b === 64), "any compare is of two sha256 digests (their 64 hex bytes)");
      }
      compares.length = 0;
      await auth.authenticate(`Bearer ${token}`);
      assert.deepEqual(compares, [[64, 64]], "the right token: one timingSafeEqual of two sha256 digests (hex bytes)");
      // The admin token: one timingSafeEqual of two 32-byte digests for every wrong one, whatever its length.
      for (const w of wrongs.filter((x) => x !== ADMIN)) {
        compares.length = 0;
        assert.throws(() => checkAdmin(ctx, `Bearer ${w.replace(/\s/g, "_")}`), (err: Error & { code?: string }) => err.code === "KP_ADMIN_TOKEN_INVALID");
        assert.deepEqual(compares, [[32, 32]], `admin check of ${w.length} characters`);
      }
      fig.badInputs(wrongs.length * 2);

      // Timing, reported: fresh wrong tokens vs almost-right ones (the real one, its last character changed).
      const N = 3000;
      const timeIt = async (make: (i: number) => string, check: (tok: string) => Promise<unknown>): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < N; i++) {
          const tok = make(i);
          const t0 = process.hrtime.bigint();
          await check(tok).catch(() => undefined);
          out.push(Number(process.hrtime.bigint() - t0) / 1000);
        }
        return out;
      };
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const almost = (base: string, i: number): string => base.slice(0, -1 - (i % 8)) + alphabet[i % 64] + base.slice(base.length - (i % 8));
      const clientCheck = (tok: string) => auth.authenticate(`Bearer ${tok}`);
      const adminCheck = async (tok: string) => checkAdmin(ctx, `Bearer ${tok}`);
      const results: Record<string, number> = {};
      for (let round = 0; round < 2; round++) {
        results.clientWrong = median(await timeIt(() => `kp-${crypto.randomBytes(32).toString("base64url")}`, clientCheck));
        results.clientAlmost = median(await timeIt((i) => almost(token, i + round * N), clientCheck));
        results.adminWrong = median(await timeIt(() => crypto.randomBytes(24).toString("hex"), adminCheck));
        results.adminAlmost = median(await timeIt((i) => almost(ADMIN, i), adminCheck));
      }
      const line = `median per check: client token wrong ${results.clientWrong!.toFixed(1)} µs vs almost right ${results.clientAlmost!.toFixed(1)} µs; admin token wrong ${results.adminWrong!.toFixed(1)} µs vs almost right ${results.adminAlmost!.toFixed(1)} µs (${N} each, in process)`;
      t.diagnostic(line);
      fig.note(`token checks: ${line}`);
      fig.timing("client token check, wrong − almost right (µs)", results.clientWrong! - results.clientAlmost!);
      fig.timing("admin token check, wrong − almost right (µs)", results.adminWrong! - results.adminAlmost!);
      fig.fault("wrong tokens of every length and prefix, timed");
    } finally {
      crypto.timingSafeEqual = real;
      syncBuiltinESMExports();
    }
  });
});
