/**
 * Properties (fast-check) where the pure core's own tests don't reach: the
 * gateway's reading of request bodies, the configuration's validation, a
 * config file's syntax errors, and key imports. (The state machine, the
 * classification and selection have theirs in test/pool/.)
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { KeypoolError } from "../../src/errors/index.ts";
import { entriesFromText, importEntries } from "../../src/gateway/keys-import.ts";
import { prepareJson } from "../../src/gateway/proxy/prepare.ts";
import { routeOf } from "../../src/gateway/proxy/routes.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { Figures } from "./lib/figures.ts";

const RUNS = 300;
const ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"].map((p) => ({ path: p, info: routeOf("POST", p) }));

describe("properties", () => {
  const fig = new Figures("properties", 7, "Properties: bodies, configuration, imports");
  let tried = 0;
  after(() => {
    fig.badInputs(tried);
    fig.note(`${tried} generated inputs: request bodies, environments and flags, config files with a character broken, import texts`);
    fig.fault("generated bodies, settings, config files, imports (fast-check)");
    fig.save();
  });

  it("request bodies: any bytes are read or refused with a 400 naming the field; the upstream reads the model the gateway read, and a stream always asks for its usage", () => {
    const object = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });
    const body = fc.record(
      {
        model: fc.oneof(fc.string({ maxLength: 20 }), fc.constant("gpt-4o-mini"), fc.integer(), fc.constant(null)),
        stream: fc.oneof(fc.boolean(), fc.constant(null), fc.string({ maxLength: 3 })),
        stream_options: fc.oneof(fc.constant(null), object, fc.record({ include_usage: fc.oneof(fc.boolean(), fc.constant(null)) }), fc.integer(), fc.array(fc.integer(), { maxLength: 2 })),
        messages: fc.array(fc.record({ role: fc.constantFrom("user", "system"), content: fc.string({ maxLength: 30 }) }), { maxLength: 3 }),
        extra: object,
      },
      { requiredKeys: [] },
    );
    const bytes = fc.oneof(
      body.map((b) => Buffer.from(JSON.stringify(b))),
      body.map((b) => Buffer.from(` \n${JSON.stringify(b, null, 2)}\n `)),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)),
    );
    fc.assert(
      fc.property(fc.constantFrom(...ROUTES), bytes, ({ info }, raw) => {
        tried++;
        let p;
        try {
          p = prepareJson(info, raw);
        } catch (err) {
          assert.ok(KeypoolError.is(err) && err.code === "KP_INVALID_INPUT" && err.status === 400, `only a 400 refusal: ${String(err)}`);
          return;
        }
        const sent = JSON.parse(p.body!.toString("utf8")) as Record<string, unknown>;
        const read = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
        assert.equal(sent.model ?? null, read.model ?? null, "the upstream gets the model the gateway checked");
        assert.equal(p.model, typeof read.model === "string" && read.model !== "" ? read.model : null);
        assert.equal(p.stream, read.stream === true);
        if (p.stream && info.usageOption) {
          assert.equal((sent.stream_options as { include_usage?: unknown } | undefined)?.include_usage, true, "the upstream is asked for the usage chunk");
          const asked = (read.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true;
          assert.equal(p.stripUsage, !asked, "the usage chunk is stripped exactly when the client did not ask for it");
          const { stream_options: _a, ...restSent } = sent;
          const { stream_options: _b, ...restRead } = read;
          assert.deepEqual(restSent, restRead, "nothing else changed");
        } else assert.deepEqual(sent, read, "passed on as it came");
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("configuration: any value of any field is taken or refused with an error naming the field and its source, never quoting a secret", () => {
    const FIELDS: [string, string][] = [
      ["KEYPOOL_STORE", "store"],
      ["KEYPOOL_UPSTREAM", "upstream"],
      ["KEYPOOL_KEYS", "keys"],
      ["KEYPOOL_ADMIN_TOKEN", "adminToken"],
      ["KEYPOOL_SECRET_KEY", "secretKey"],
      ["PORT", "port"],
      ["HOST", "host"],
      ["KEYPOOL_MAX_BODY", "maxBodyBytes"],
      ["KEYPOOL_LOG_LEVEL", "logLevel"],
      ["KEYPOOL_SHUTDOWN_TIMEOUT_MS", "shutdownTimeoutMs"],
      ["KEYPOOL_STRATEGY", "strategy"],
      ["KEYPOOL_HEALTH_INTERVAL_MS", "healthIntervalMs"],
      ["KEYPOOL_REDIS_PREFIX", "redisPrefix"],
    ];
    const SECRET_FIELDS = new Set(["adminToken", "secretKey", "keys"]);
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constantFrom("10mb", "-1", "0", "65536", "redis://x", "sqlite:", "memory", "warn", "random", "1e3", "12kb", " 8080 "));
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), value, ([env, field], v) => {
        tried++;
        try {
          const c = resolveGatewayConfig({}, { [env]: v }) as unknown as Record<string, unknown>;
          if (v.trim() !== "") assert.notEqual(c[field], undefined, `${field} taken`);
        } catch (err) {
          assert.ok(KeypoolError.is(err) && err.code === "KP_CONFIG", `a ConfigError, not ${String(err)}`);
          assert.ok(err.message.startsWith(`${field}: `), `names the field: ${err.message}`);
          assert.ok(err.message.includes(`(from env ${env})`), `names the source: ${err.message}`);
          if (SECRET_FIELDS.has(field) && v.trim().length >= 4) assert.ok(!err.message.includes(v.trim()), `never quotes a secret: ${err.message}`);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("config files: a character broken anywhere gives an error at a line of the file, never quoting it", () => {
    const dir = tempDir("keypool-proof-props-");
    try {
      const file = dir.file("gateway.json");
      const secret = "admin-token-from-a-property-0123456789";
      const text = JSON.stringify({ store: "memory", adminToken: secret, port: 8080, logLevel: "warn", keys: ["sk-property-key-0000000000000001"], prices: { "gpt-4o-mini": { input: 0.15, output: 0.6 } } }, null, 2);
      const lines = text.split("\n").length;
      fc.assert(
        fc.property(fc.nat(text.length - 1), fc.constantFrom("", "x", ",", "}", "]", '"', "\\", ":", "\n", "t"), (at, ch) => {
          tried++;
          const broken = text.slice(0, at) + ch + text.slice(at + 1);
          let valid = true;
          try {
            JSON.parse(broken);
          } catch {
            valid = false;
          }
          writeFileSync(file, broken);
          try {
            resolveGatewayConfig({ config: file }, {});
          } catch (err) {
            const m = /is not valid JSON: line (\d+), column (\d+): /.exec((err as Error).message);
            if (!valid) assert.ok(m !== null, `names a line: ${(err as Error).message}`);
            if (m !== null) assert.ok(Number(m[1]) >= 1 && Number(m[1]) <= lines + 1, `a line of the file: ${(err as Error).message}`);
            for (const s of [secret, "sk-property-key-0000000000000001"]) assert.ok(!(err as Error).message.includes(s), `no secret in: ${(err as Error).message}`);
          }
        }),
        { numRuns: RUNS },
      );
    } finally {
      dir.remove();
    }
  });

  it("key imports: every valid line is kept, every broken line is named by its number, duplicates point at their first line", async () => {
    const key = fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/).map((s) => `sk-${s}`);
    const line = fc.oneof(
      key.map((k) => ({ text: k, key: k })),
      fc.tuple(key, fc.stringMatching(/^[a-z][a-z ]{0,15}[a-z]$/)).map(([k, label]) => ({ text: `${k} ${label}`, key: k })),
      key.map((k) => ({ text: JSON.stringify({ secret: k, label: "json" }), key: k })),
      fc.constantFrom("short", "{not json", '{"secret":"sk-ok-but-unknown-field-000","colour":"red"}', '{"secret":"tiny"}', '{"secret":"sk-bad-base-url-00000000","baseURL":"ftp://x"}').map((text) => ({ text, key: null })),
      fc.constantFrom("", "   ", "# a comment", "  # indented comment").map((text) => ({ text, key: null, skip: true })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 25 }), fc.constantFrom("\n", "\r\n"), fc.boolean(), async (items, eol, repeat) => {
        tried++;
        const all = repeat && items.some((i) => i.key !== null) ? [...items, items.find((i) => i.key !== null)!] : items;
        const text = all.map((i) => i.text).join(eol);
        const entries = entriesFromText(text);
        const meaningful = all.map((item, i) => ({ item, line: i + 1 })).filter(({ item }) => !("skip" in item));
        assert.deepEqual(
          entries.map((e) => e.line),
          meaningful.map((m) => m.line),
          "one entry per line that is not blank or a comment, numbered as in the text",
        );
        for (const [i, e] of entries.entries()) {
          const want = meaningful[i]!.item.key;
          if (want === null) assert.ok(e.error !== undefined && e.error.length > 0, `line ${e.line} named as broken`);
          else assert.equal(e.input?.secret, want, `line ${e.line} kept`);
        }
        const added = new Set<string>();
        const report = await importEntries(async (inputs) => {
          const fresh = new Set<string>();
          for (const input of inputs) {
            const id = credentialId(input.secret);
            if (!added.has(id)) fresh.add(id);
            added.add(id);
          }
          return fresh;
        }, entries);
        const firstLine = new Map<string, number>();
        for (const m of meaningful) if (m.item.key !== null && !firstLine.has(m.item.key)) firstLine.set(m.item.key, m.line);
        assert.equal(report.added, firstLine.size, "every distinct valid key added");
        assert.equal(report.malformed, meaningful.filter((m) => m.item.key === null).length);
        for (const r of report.results) {
          if (r.status === "duplicate") assert.match(r.message ?? "", /same key as line \d+|already in the pool/);
          if (r.key !== undefined) assert.ok(!meaningful.some((m) => m.item.key !== null && r.key === m.item.key), "a result shows the key masked");
        }
      }),
      { numRuns: RUNS },
    );
  });
});
