/**
 * Key imports and configuration with broken lines, duplicates and wrong
 * formats, through the CLI as a user runs it: every bad line is named (file
 * and line, stdin line, Redis set member, config field or entry), every
 * valid line is kept, and no error quotes a key or a token.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { KeypoolError } from "../../src/errors/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import { deletePrefix, rawClient, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { Figures } from "./lib/figures.ts";
import { adminToken, captureOutput, cli as runCli, kill, proofKey, serve, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";

describe("key imports and configuration with broken lines", () => {
  const fig = new Figures("imports", 8, "Broken key imports and config files");
  const leaks = new LeakScan();
  const dir = tempDir("keypool-proof-imports-");
  const ADMIN = adminToken();
  const redis = redisUrl(13);
  const prefix = testPrefix("proof-imports");
  let tried = 0;
  let named = 0;
  let kept = 0;
  let dupes = 0;
  leaks.secret("admin token", ADMIN);

  /** A key file: valid lines, duplicates, broken lines, comments; returns what a correct import must do. */
  function keyFile(tag: string, eol: string): { text: string; valid: string[]; broken: number[]; dupes: number[] } {
    const k = (n: number): string => proofKey(`${tag}${n}`);
    const keys = [k(1), k(2), k(3), k(4), k(5)];
    leaks.secrets("upstream key", keys);
    const lines = [
      "# keys for the proof",
      keys[0]!,
      `${keys[1]!} a labelled key`,
      "",
      "short",
      JSON.stringify({ secret: keys[2]!, label: "json line", models: ["gpt-4o-mini"] }),
      '{"secret": "sk-unfinished-json',
      JSON.stringify({ secret: "sk-proof-unknown-field-000000001", colour: "red" }),
      JSON.stringify({ secret: "sk-proof-bad-url-0000000000000001", baseURL: "ftp://relay" }),
      keys[0]!, // a duplicate of line 2
      `   ${keys[3]!}   `,
      "  # an indented comment",
      JSON.stringify({ secret: keys[4]!, weight: -3 }),
    ];
    return { text: lines.join(eol) + eol, valid: keys.slice(0, 4), broken: [5, 7, 8, 9, 13], dupes: [10] };
  }

  before(async () => {
    await requireRedis(redis);
  });
  after(async () => {
    dir.remove();
    await deletePrefix(redis, prefix);
    leaks.check(fig);
    fig.badInputs(tried);
    fig.checked(kept, 0);
    fig.note(`${tried} broken or repeated lines and config values tried: ${named} named with their line, field or member, ${dupes} repeats reported with their first line; ${kept} valid lines kept`);
    fig.fault("broken lines in key files, stdin, a Redis set, config files, the environment");
    fig.save();
  });

  it("keys add --from-file on a local store: each broken line named file:line, the valid ones added, duplicates reported", async () => {
    for (const eol of ["\n", "\r\n"]) {
      const spec = `sqlite:${dir.file(`local${eol.length}.db`)}`;
      const f = keyFile(`file${eol.length}`, eol);
      const path = dir.file(`keys${eol.length}.txt`);
      writeFileSync(path, f.text);
      const r = await runCli(["keys", "add", "--from-file", path, "--store", spec]);
      leaks.add("keys add stdout", r.stdout);
      leaks.add("keys add stderr", r.stderr);
      assert.equal(r.code, 1, "a malformed line makes the command fail, after adding the valid ones");
      for (const line of f.broken) {
        assert.match(r.stderr, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:${line}: `), `line ${line} named`);
        named++;
      }
      tried += f.broken.length + f.dupes.length;
      dupes += f.dupes.length;
      assert.match(r.stdout, new RegExp(`added ${f.valid.length}, already present ${f.dupes.length}, malformed ${f.broken.length}`));
      const store = await openStore(spec);
      try {
        const secrets = new Set((await store.credentials.list()).map((c) => c.secret));
        for (const k of f.valid) assert.ok(secrets.has(k), "every valid line kept");
        assert.equal(secrets.size, f.valid.length);
        kept += f.valid.length;
      } finally {
        await store.close();
      }
      // The same file again: every valid line is a duplicate now, nothing added twice.
      const again = await runCli(["keys", "add", "--from-file", path, "--store", spec, "--json"]);
      leaks.add("keys add again", again.stdout + again.stderr);
      const report = JSON.parse(again.stdout) as { added: number; duplicates: number; results: { status: string; where: string }[] };
      assert.equal(report.added, 0);
      assert.equal(report.duplicates, f.valid.length + f.dupes.length);
      assert.ok(report.results.every((x) => x.where.startsWith(`${path}:`)));
      const list = await runCli(["keys", "list", "--store", spec]);
      leaks.add("keys list", list.stdout + list.stderr);
      assert.equal(list.code, 0);
    }
  });

  it("keys add through a running gateway and from stdin: the same lines named, the same keys kept", async () => {
    const spec = `sqlite:${dir.file("remote.db")}`;
    let gw: Gw | undefined;
    try {
      gw = await serve("gateway for imports", ["--store", spec, "--health-interval", "0"], { KEYPOOL_ADMIN_TOKEN: ADMIN, KEYPOOL_UPSTREAM: "http://127.0.0.1:9/v1" });
      const f = keyFile("remote", "\n");
      const path = dir.file("remote.txt");
      writeFileSync(path, f.text);
      const r = await runCli(["keys", "add", "--from-file", path, "--url", gw.url], { KEYPOOL_ADMIN_TOKEN: ADMIN });
      leaks.add("remote keys add", r.stdout + r.stderr);
      for (const line of f.broken) assert.match(r.stderr, new RegExp(`:${line}: `), `line ${line} named`);
      assert.match(r.stdout, new RegExp(`added ${f.valid.length}, already present ${f.dupes.length}, malformed ${f.broken.length}`));
      named += f.broken.length;
      tried += f.broken.length + f.dupes.length;
      dupes += f.dupes.length;
      kept += f.valid.length;
      const s = keyFile("stdin", "\n");
      const viaStdin = await runCli(["keys", "add", "-", "--url", gw.url], { KEYPOOL_ADMIN_TOKEN: ADMIN }, s.text);
      leaks.add("stdin keys add", viaStdin.stdout + viaStdin.stderr);
      for (const line of s.broken) assert.match(viaStdin.stderr, new RegExp(`stdin:${line}: `), `stdin line ${line} named`);
      assert.match(viaStdin.stdout, new RegExp(`added ${s.valid.length}, `));
      named += s.broken.length;
      tried += s.broken.length + s.dupes.length;
      dupes += s.dupes.length;
      kept += s.valid.length;
      const listed = await runCli(["keys", "list", "--url", gw.url, "--json"], { KEYPOOL_ADMIN_TOKEN: ADMIN });
      leaks.add("remote keys list", listed.stdout + listed.stderr);
      assert.equal((JSON.parse(listed.stdout) as unknown[]).length, f.valid.length + s.valid.length);
    } finally {
      if (gw !== undefined) {
        await kill(gw, "SIGTERM");
        captureOutput(leaks, gw);
      }
    }
  });

  it("keys add --from-redis-set: each broken member named, the valid ones kept", async () => {
    const set = `${prefix}ChatGPTKey`;
    const good = [proofKey("setkey1"), proofKey("setkey2")];
    leaks.secrets("upstream key", good);
    const client = rawClient(redis);
    await client.connect();
    try {
      await client.sadd(set, ...good, "short", "{broken json", JSON.stringify({ secret: "sk-proof-set-unknown-0000001", nope: 1 }));
    } finally {
      client.disconnect();
    }
    const spec = `sqlite:${dir.file("set.db")}`;
    const r = await runCli(["keys", "add", "--from-redis-set", `${redis}/${set}`, "--store", spec]);
    leaks.add("redis set import", r.stdout + r.stderr);
    const members = r.stderr.match(/redis set \S+, member \d+: /g) ?? [];
    assert.equal(members.length, 3, r.stderr);
    assert.match(r.stdout, /added 2, already present 0, malformed 3/);
    named += 3;
    tried += 3;
    kept += 2;
  });

  it("serve with a broken config file or environment: the error names the line, the field and its source, and quotes no secret", async () => {
    const file = dir.file("gateway.json");
    const key = proofKey("configkey");
    leaks.secret("upstream key", key);
    const cases: [string, string, Record<string, string>, RegExp][] = [
      ["a misspelt literal", `{\n  "adminToken": "${ADMIN}",\n  "port": tru\n}\n`, {}, /is not valid JSON: line 3, column \d+/],
      ["a missing comma", `{\n  "adminToken": "${ADMIN}"\n  "port": 8080\n}\n`, {}, /is not valid JSON: line 3, column 3/],
      ["a trailing comma", `{\n  "port": 8080,\n}\n`, {}, /is not valid JSON: line 3, column 1/],
      ["a port that is no number", `{"port": "eighty"}`, {}, /port: must be an integer from 0 to 65535, got "eighty" \(from config file .*\(port\)\)/],
      ["an unknown field", `{"prot": 8080}`, {}, /prot: unknown field in config file/],
      ["a bad store", `{"store": "postgres://x"}`, {}, /store: must be memory, sqlite:PATH or redis:\/\/HOST:PORT\/DB \(from config file/],
      ["a short admin token", `{"adminToken": "short-one"}`, {}, /adminToken: the admin token must be at least 16 characters .*\(from config file/],
      ["a bad key entry", JSON.stringify({ keys: [key, "tiny"] }), {}, /keys: entry 2: invalid credential: secret is too short/],
      ["a bad key object", JSON.stringify({ keys: [{ secret: key, weight: "heavy" }] }), {}, /keys: entry 1: invalid credential: weight/],
      ["prices of the wrong shape", JSON.stringify({ prices: { "gpt-4o": { input: "cheap" } } }), {}, /prices: .*\(from config file/],
      ["a bad environment value", "{}", { KEYPOOL_MAX_BODY: "huge" }, /maxBodyBytes: must be a size .* \(from env KEYPOOL_MAX_BODY\)/],
      ["a bad key in the environment", "{}", { KEYPOOL_KEYS: `${key},sk x` }, /keys: entry 2: invalid credential/],
      ["a bad flag over a good file", `{"port": 8080}`, { PORT: "-1" }, /port: .* \(from env PORT\)/],
    ];
    // Four as a user meets them (keypool serve refusing to start), the rest through the same resolver in process.
    const asProcess = new Set(["a misspelt literal", "a port that is no number", "a bad key entry", "a bad key in the environment"]);
    for (const [what, text, env, want] of cases) {
      writeFileSync(file, text);
      tried++;
      let message: string;
      if (asProcess.has(what)) {
        const r = await runCli(["serve", "--config", file], env, "", 8000);
        assert.ok(!r.timedOut, `${what}: ${r.stderr}`);
        assert.equal(r.code, 1, `${what}: refused to start`);
        assert.ok(!r.stderr.includes("listening"), `${what}: did not start`);
        message = r.stdout + r.stderr;
      } else {
        try {
          resolveGatewayConfig({ config: file }, env);
          assert.fail(`${what}: accepted`);
        } catch (err) {
          assert.ok(KeypoolError.is(err) && err.code === "KP_CONFIG", `${what}: ${String(err)}`);
          message = err.message;
        }
      }
      leaks.add(`config with ${what}`, message);
      assert.match(message, want, `${what}: ${message}`);
      named++;
    }
  });
});
