/**
 * Every example in examples/ runs as a user would run it (`node examples/X.ts`,
 * `keypool` resolved by the package's self-reference), against the simulator:
 * one key fine, one revoked, one out of quota, so each example only passes when
 * the pool fails over under the integration's own client.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { ROOT, cleanEnv, runOk, start, type Running } from "../package/helpers.ts";

const GOOD = "sk-good-000000000000000000001";
const REVOKED = "sk-revoked-000000000000000002";
const BROKE = "sk-broke-0000000000000000003";

let sim: Simulator;
let env: NodeJS.ProcessEnv;

before(async () => {
  sim = await startSimulator({ keys: { [GOOD]: "ok", [REVOKED]: "invalid", [BROKE]: "quota" } });
  // The bad keys first: round-robin would reach them anyway, this makes sure of it.
  env = cleanEnv({ KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: `${REVOKED},${BROKE},${GOOD}`, KEYPOOL_STORE: "memory" });
});

after(() => sim?.close());

const example = (name: string, extra: NodeJS.ProcessEnv = env) => runOk(process.execPath, [join(ROOT, "examples", name)], { cwd: ROOT, env: extra, timeoutMs: 60_000 });

/** `label: N chunks: text` → [N, text]. */
function streamed(out: string, label: string): [number, string] {
  const m = new RegExp(`^${label}: (\\d+) (?:chunks|parts): (.+)$`, "m").exec(out);
  assert.ok(m !== null, `${label} line in:\n${out}`);
  return [Number(m[1]), m[2]!];
}

test("openai SDK with fetch: pool.fetch, JSON and streamed; the bad keys are found out", async () => {
  const { stdout } = await example("openai-sdk.ts");
  assert.match(stdout, /^reply: \S.*You said: "Say hello in five words\."$/m);
  const [chunks, text] = streamed(stdout, "streamed");
  assert.ok(chunks > 2, `streamed in ${chunks} chunks`);
  assert.match(text, /You said: "Count to five\."$/);
  assert.match(stdout, /^key sk-revoked-…0002: retired \(invalid_api_key\)$/m);
  assert.match(stdout, /^key sk-broke-…0003: quarantined \(insufficient_quota\)$/m);
  assert.match(stdout, /^key sk-good-…0001: active$/m);
  assert.ok(!stdout.includes(GOOD) && !stdout.includes(REVOKED), "keys printed masked");
});

test("Vercel AI SDK: createOpenAI({ baseURL, fetch }), generateText and streamText", async () => {
  const { stdout } = await example("vercel-ai.ts");
  assert.match(stdout, /^generateText: \S.*You said: "Say hello in five words\." \(\d+ tokens\)$/m);
  const [parts, text] = streamed(stdout, "streamText");
  assert.ok(parts > 2, `streamed in ${parts} parts`);
  assert.match(text, /You said: "Count to five\."$/);
});

test("LangChain.js: ChatOpenAI with configuration: { baseURL, fetch }, invoke and stream", async () => {
  const { stdout } = await example("langchain.ts");
  assert.match(stdout, /^invoke: \S.*You said: "Say hello in five words\."$/m);
  const [chunks, text] = streamed(stdout, "stream");
  assert.ok(chunks > 2, `streamed in ${chunks} chunks`);
  assert.match(text, /You said: "Count to five\."$/);
});

describe("through the gateway", () => {
  let gateway: Running;
  let url: string;
  before(async () => {
    gateway = await start(process.execPath, [join(ROOT, "bin", "keypool.ts"), "serve", "--port", "0", "--store", "memory", "--log-level", "warn"], /listening on (http:\/\/\S+)/, { cwd: ROOT, env });
    url = gateway.match[1]!;
  });
  after(() => gateway?.stop());

  test("openai SDK with baseURL at the gateway, JSON and streamed", async () => {
    const { stdout } = await example("openai-gateway.ts", { ...env, OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: "anything-on-loopback" });
    assert.match(stdout, /^reply: \S.*You said: "Say hello in five words\."$/m);
    assert.match(stdout, /^usage: \d+ tokens$/m);
    const [chunks, text] = streamed(stdout, "streamed");
    assert.ok(chunks > 2);
    assert.match(text, /You said: "Count to five\."$/);
    assert.match(stdout, /^models: [1-9]\d*$/m);
  });
});

describe("chat bot webhook", () => {
  let bot: Running;
  let hook: string;
  before(async () => {
    bot = await start(process.execPath, [join(ROOT, "examples", "chat-bot.ts")], /listening on (http:\/\/\S+)/, { cwd: ROOT, env: { ...env, PORT: "0" } });
    hook = bot.match[1]!;
  });
  after(() => bot?.stop());

  const post = async (body: unknown): Promise<{ status: number; json: { reply?: string; conversationId?: string; error?: string } }> => {
    const res = await fetch(hook, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { reply?: string; conversationId?: string } };
  };

  test("each client id keeps its own conversation; /reset starts a new one", async () => {
    const a1 = await post({ clientId: "wechat:alice", text: "My name is Alice." });
    const b1 = await post({ clientId: "slack:bob", text: "Hello from Bob." });
    const a2 = await post({ clientId: "wechat:alice", text: "What is my name?" });
    for (const r of [a1, b1, a2]) {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.ok((r.json.reply ?? "").length > 0);
    }
    assert.equal(a2.json.conversationId, a1.json.conversationId, "alice carries on her conversation");
    assert.notEqual(b1.json.conversationId, a1.json.conversationId, "bob has his own");
    const reset = await post({ clientId: "wechat:alice", text: "/reset" });
    const a3 = await post({ clientId: "wechat:alice", text: "Hello again." });
    assert.equal(a3.json.conversationId, reset.json.conversationId);
    assert.notEqual(a3.json.conversationId, a1.json.conversationId, "a new conversation after /reset");
    // What the upstream was sent: alice's own turns as context, never bob's, none after /reset.
    const context = (last: string): string[] => {
      const sent = sim.requests().find((r) => r.status === 200 && JSON.stringify(r.body).includes(JSON.stringify(last)));
      assert.ok(sent !== undefined, `a request ending with ${last}`);
      return (sent.body as { messages: Array<{ role: string; content: string }> }).messages.filter((m) => m.role === "user").map((m) => m.content);
    };
    assert.deepEqual(context("What is my name?"), ["My name is Alice.", "What is my name?"]);
    assert.deepEqual(context("Hello again."), ["Hello again."]);
  });

  test("a malformed message is refused with 400", async () => {
    assert.equal((await post({ clientId: "x" })).status, 400);
    assert.equal((await post({ text: "no client" })).status, 400);
  });
});
