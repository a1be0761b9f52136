/** Which HTTP client carries upstream calls: keypool's own by default, undici when asked, undici behind a proxy. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { Agent, ProxyAgent } from "undici";
import { createPool } from "../../src/create-pool.ts";
import { ConfigError } from "../../src/errors/config-error.ts";
import { H1Agent } from "../../src/transport/h1/agent.ts";
import { echoServer } from "../helpers/echo-server.ts";
import { runModuleScript, srcImport } from "../helpers/module-script.ts";

const KEY = "sk-test-aaaaaaaaaaaaaaaaaaaaaaaaaaaa";

async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.KEYPOOL_UPSTREAM_CLIENT;
  if (value === undefined) delete process.env.KEYPOOL_UPSTREAM_CLIENT;
  else process.env.KEYPOOL_UPSTREAM_CLIENT = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.KEYPOOL_UPSTREAM_CLIENT;
    else process.env.KEYPOOL_UPSTREAM_CLIENT = saved;
  }
}

describe("the upstream client", () => {
  for (const [label, option, env, expected] of [
    ["keypool's own by default", undefined, undefined, H1Agent],
    ["undici when the option asks", "undici", undefined, Agent],
    ["undici when KEYPOOL_UPSTREAM_CLIENT asks", undefined, "undici", Agent],
    ["the option over the environment", "keypool", "undici", H1Agent],
  ] as const) {
    it(`is ${label}, and carries the request`, async () => {
      const echo = await echoServer();
      await withEnv(env, async () => {
        const pool = await createPool({ upstream: `${echo.url}/v1`, keys: [KEY], health: false, ...(option === undefined ? {} : { upstreamClient: option }) });
        try {
          assert.ok(pool.dispatchers!.for(null) instanceof expected, `direct calls go through ${expected.name}`);
          assert.ok(pool.dispatchers!.for("http://127.0.0.1:9") instanceof ProxyAgent, "a credential's proxy always goes through undici");
          const res = await pool.fetch(`${echo.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"m","messages":[]}' });
          assert.equal(res.status, 200);
          assert.equal(((await res.json()) as { object: string }).object, "chat.completion");
          assert.equal(echo.seen[0]?.headers.authorization, `Bearer ${KEY}`);
          assert.equal(echo.seen[0]?.body, '{"model":"m","messages":[]}');
        } finally {
          await pool.close();
        }
      });
      await echo.close();
    });
  }

  it("refuses an unknown client, naming the option, from either source", async () => {
    await assert.rejects(createPool({ upstreamClient: "curl" as "undici", health: false }), (err: unknown) => err instanceof ConfigError && /upstreamClient/.test(err.message) && /"curl"/.test(err.message));
    await withEnv("fetch", () => assert.rejects(createPool({ health: false }), (err: unknown) => err instanceof ConfigError && /KEYPOOL_UPSTREAM_CLIENT/.test(err.message) && /"fetch"/.test(err.message)));
  });

  it("leaves undici unloaded until a call needs it (a proxy), so a direct pool doesn't carry it", async () => {
    const echo = await echoServer();
    try {
      const src = srcImport;
      const script = `
        const { createRequire } = await import("node:module");
        const { createPool } = await import(${src("create-pool.ts")});
        const { undiciLoaded } = await import(${src("transport/undici-lazy.ts")});
        const inCache = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/node_modules/undici/"));
        const pool = await createPool({ upstream: ${JSON.stringify(`${echo.url}/v1`)}, keys: [${JSON.stringify(KEY)}], health: false });
        const res = await pool.fetch("https://api.openai.com/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        await res.arrayBuffer();
        const direct = { status: res.status, loaded: undiciLoaded(), cached: inCache() };
        pool.dispatchers.for("http://127.0.0.1:9");
        console.log(JSON.stringify({ direct, proxied: { loaded: undiciLoaded(), cached: inCache() } }));
        await pool.close();`;
      const { code, out } = await runModuleScript(script, { env: { ...process.env, HTTPS_PROXY: "", HTTP_PROXY: "", https_proxy: "", http_proxy: "", KEYPOOL_UPSTREAM_CLIENT: "" } });
      assert.equal(code, 0, out);
      assert.deepEqual(JSON.parse(out), { direct: { status: 200, loaded: false, cached: false }, proxied: { loaded: true, cached: true } });
    } finally {
      await echo.close();
    }
  });

  it("lets a process exit with idle keep-alive connections open (a script that forgot close())", async () => {
    const echo = await echoServer();
    try {
      const agent = fileURLToPath(new URL("../../src/transport/h1/agent.ts", import.meta.url));
      const script = `
        const { H1Agent } = await import(${JSON.stringify(agent)});
        const a = new H1Agent({ connectMs: 1000 });
        const r = await a.request(${JSON.stringify(echo.url)}, "/v1/x", { method: "POST", headers: {}, body: Buffer.from("{}"), signal: new AbortController().signal, headersTimeoutMs: 1000, bodyTimeoutMs: 1000 });
        for await (const _ of r.body);
        console.log(r.status, JSON.stringify(a.stats(${JSON.stringify(echo.url)})));`;
      const { code, out } = await runModuleScript(script, { timeoutMs: 5000 });
      assert.equal(out.trim(), '200 {"open":1,"idle":1}', "the request was answered and its connection kept for reuse");
      assert.equal(code, 0, "the process exited on its own (killed after 5 s otherwise)");
    } finally {
      await echo.close();
    }
  });
});
