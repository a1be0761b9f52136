/** `keypool keys …` and `keypool tokens …` as users run them: on a local SQLite store, and on a running gateway with --url. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { rawClient, redisUrl, requireRedis } from "../store/redis-harness.ts";
import { runCli } from "./child.ts";
import { ADMIN, harness, key, type Harness } from "./helpers.ts";

describe("keypool keys/tokens on a local store", () => {
  const dir = tempDir("keypool-cli-");
  const store = `sqlite:${dir.file()}`;
  let sim: Simulator;
  let env: Record<string, string>;
  before(async () => {
    sim = await startSimulator({ keys: { [key("good")]: "ok", [key("dead")]: "invalid" } });
    env = { KEYPOOL_STORE: store, KEYPOOL_UPSTREAM: `${sim.url}/v1` };
  });
  after(async () => {
    await sim.close();
    dir.remove();
  });

  it("imports a file with broken lines: the errors name their lines, the good lines are added", async () => {
    const file = dir.file("keys.txt");
    writeFileSync(file, [`${key("good")} main`, "oops", "", "# comment", key("dead"), key("good"), '{"secret": "sk-x"}', `{"secret": "${key("third")}", "label": "json"}`].join("\n"));
    const r = await runCli(["keys", "add", "--from-file", file], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${file.replace(/[/.]/g, "\\$&")}:2: invalid credential: secret is too short`));
    assert.match(r.stderr, /keys\.txt:7: invalid credential/);
    assert.match(r.stdout, /added 3, already present 1, malformed 2/);
    assert.ok(!r.stdout.includes(key("good")) && !r.stderr.includes(key("good")), "no key printed whole");
  });

  it("imports the members of a Redis set (the write-up's layout), naming a bad member", async () => {
    const url = redisUrl(6);
    await requireRedis(url);
    const set = `kptest:ChatGPTKey:${process.pid}:${Date.now()}`;
    const redis = rawClient(url);
    await redis.connect();
    try {
      await redis.sadd(set, key("redis", 1), key("redis", 2), "bad");
      const r = await runCli(["keys", "add", "--from-redis-set", `${url}/${encodeURIComponent(set)}`, "--store", `sqlite:${dir.file("redis.db")}`], env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /added 2, already present 0, malformed 1/);
      assert.match(r.stderr, new RegExp(`redis set ${set.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}, member \\d: invalid credential`));
      const wrong = await runCli(["keys", "add", "--from-redis-set", "redis://127.0.0.1:6379/nope"], env);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /redis:\/\/HOST:PORT\/DB\/SETNAME/);
    } finally {
      await redis.del(set);
      redis.disconnect();
    }
  });

  it("adds keys from arguments and stdin, and lists them as a table and as JSON", async () => {
    const a = await runCli(["keys", "add", key("arg"), "-", "--label", "cli"], env, `${key("stdin")}\n`);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /added 2/);
    const t = await runCli(["keys", "list"], env);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^ID\s+KEY\s+LABEL\s+STATE\s+REASON\s+SINCE\s+REQUESTS\s+FAILURES\s+LAST USED/);
    assert.match(t.stdout, /5 key\(s\): 5 active/);
    assert.ok(!t.stdout.includes(key("arg")));
    const j = await runCli(["keys", "list", "--json"], env);
    const list = JSON.parse(j.stdout) as { label: string | null; key: string }[];
    assert.equal(list.length, 5);
    assert.equal(list.filter((v) => v.label === "cli").length, 2);
  });

  it("disables, enables and removes keys by id or by the key itself", async () => {
    const d = await runCli(["keys", "disable", key("arg"), "--note", "testing"], env);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^disabled key_[0-9a-f]{16} \(sk-arg-…\d{4}\)/);
    assert.ok(!d.stdout.includes(key("arg")));
    const listed = JSON.parse((await runCli(["keys", "list", "--json", "--state", "disabled"], env)).stdout) as { id: string }[];
    assert.equal(listed.length, 1);
    assert.equal((await runCli(["keys", "enable", listed[0]!.id], env)).code, 0);
    const rm = await runCli(["keys", "rm", listed[0]!.id, "key_0000000000000000"], env);
    assert.equal(rm.code, 1);
    assert.match(rm.stdout, /removed key_/);
    assert.match(rm.stderr, /key_0000000000000000: credential not found/);
  });

  it("probes every key against the upstream, moving dead ones", async () => {
    const r = await runCli(["keys", "probe", "--all", "--json"], env);
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(r.stdout) as { key: string; after: string }[];
    assert.ok(results.some((x) => x.after === "retired"));
    assert.ok(results.some((x) => x.after === "active"));
    const none = await runCli(["keys", "probe"], env);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /or --all/);
  });

  it("creates a token (printed once), lists it without the secret, and revokes it", async () => {
    const add = await runCli(["tokens", "add", "--name", "ci", "--models", "gpt-4o-mini", "--quota-tokens", "1000", "--rpm", "60", "--expires", "30d"], env);
    assert.equal(add.code, 0, add.stderr);
    const token = add.stdout.trim();
    assert.match(token, /^kp-[\w-]{40,}$/);
    assert.match(add.stderr, /only time it is shown/);
    const list = await runCli(["tokens", "list", "--json"], env);
    assert.ok(!list.stdout.includes(token));
    const rows = JSON.parse(list.stdout) as { id: string; name: string; models: string[]; quotaTokens: number; rpm: number; state: string }[];
    assert.deepEqual([rows[0]!.name, rows[0]!.models, rows[0]!.quotaTokens, rows[0]!.rpm, rows[0]!.state], ["ci", ["gpt-4o-mini"], 1000, 60, "active"]);
    assert.equal((await runCli(["tokens", "rm", rows[0]!.id], env)).code, 0);
    const revoked = JSON.parse((await runCli(["tokens", "list", "--json"], env)).stdout) as { state: string }[];
    assert.equal(revoked[0]!.state, "revoked");
    const bad = await runCli(["tokens", "add", "--name", "x", "--rpm", "lots"], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--rpm must be a positive integer/);
  });
});

describe("keypool keys/tokens on a running gateway (--url)", () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await harness({ [key("live")]: "ok", [key("gone")]: "invalid" });
    env = { KEYPOOL_ADMIN_TOKEN: ADMIN };
  });
  after(() => h.close());

  it("adds, lists, disables, probes and removes keys through the admin API", async () => {
    const url = h.gw.url;
    const add = await runCli(["keys", "add", "--url", url, key("remote", 1), key("remote", 2), "short"], env);
    assert.equal(add.code, 1);
    assert.match(add.stderr, /argument 3: invalid credential/);
    assert.match(add.stdout, /added 2/);
    assert.ok(h.pool.get(key("remote", 1)) !== null, "added to the gateway's pool");
    const list = JSON.parse((await runCli(["keys", "list", "--url", url, "--json"], env)).stdout) as { id: string }[];
    assert.equal(list.length, 4);
    const id = h.pool.get(key("remote", 1))!.id;
    assert.equal((await runCli(["keys", "disable", id, "--url", url], env)).code, 0);
    assert.equal(h.pool.get(id)!.state, "disabled");
    const probe = await runCli(["keys", "probe", "--all", "--url", url], env);
    assert.equal(probe.code, 0, probe.stderr);
    assert.match(probe.stdout, /BEFORE\s+AFTER/);
    assert.equal(h.pool.get(key("gone"))!.state, "retired");
    assert.equal((await runCli(["keys", "rm", id, "--url", url], env)).code, 0);
    assert.equal(h.pool.get(id), null);
    const wrong = await runCli(["keys", "list", "--url", url], { KEYPOOL_ADMIN_TOKEN: "wrong-admin-token-0000" });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /invalid admin token/);
  });

  it("creates, lists and revokes tokens through the admin API", async () => {
    const url = h.gw.url;
    const add = await runCli(["tokens", "add", "--name", "remote", "--url", url], env);
    assert.equal(add.code, 0, add.stderr);
    const token = add.stdout.trim();
    const ok = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const rows = JSON.parse((await runCli(["tokens", "list", "--json", "--url", url], env)).stdout) as { id: string }[];
    assert.equal((await runCli(["tokens", "rm", rows[0]!.id, "--url", url], env)).code, 0);
    const refused = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 401);
  });
});
