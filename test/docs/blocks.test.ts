/** The docs test's own machinery: markers, sessions, and a session that must fail when a command does. */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import { cleanEnv, run } from "../package/helpers.ts";
import { parseMarker, sessionScript, sessions, shellBlocks, toScript } from "./blocks.ts";

const MD = [
  "intro",
  "<!-- test: expect hello; expect world -->",
  "```sh",
  "echo hello \\",
  "  world",
  "```",
  "",
  "<!-- test: continued -->",
  "```bash",
  "echo again",
  "```",
  "<!-- test: skip it would recurse; really -->",
  "```sh",
  "npm test",
  "```",
  "```ts",
  "const notShell = 1;",
  "```",
  "```sh",
  "unmarked",
  "```",
].join("\n");

test("markers: run, continued, expect, skip with a free-text reason; unknown options refused", () => {
  assert.deepEqual(parseMarker("<!-- test -->"), { continued: false, skip: null, expect: [] });
  assert.deepEqual(parseMarker("<!-- test: continued; expect a b; expect c -->"), { continued: true, skip: null, expect: ["a b", "c"] });
  assert.deepEqual(parseMarker("<!-- test: skip slow; and noisy -->"), { continued: false, skip: "slow; and noisy", expect: [] });
  assert.equal(parseMarker("<!-- not a marker -->"), null);
  assert.throws(() => parseMarker("<!-- test: maybe -->"), /unknown test marker option/);
});

test("shell blocks with their markers, grouped into sessions", () => {
  const blocks = shellBlocks(MD);
  assert.deepEqual(
    blocks.map((b) => [b.line, b.info, b.marker === null ? null : b.marker.skip ?? (b.marker.continued ? "continued" : "run")]),
    [
      [3, "sh", "run"],
      [9, "bash", "continued"],
      [13, "sh", "it would recurse; really"],
      [19, "sh", null],
    ],
  );
  const s = sessions(blocks);
  assert.equal(s.length, 1);
  assert.deepEqual(s[0]!.map((b) => b.line), [3, 9]);
});

test("continued lines are joined; a background command waits for its port; comments stay comments", () => {
  const script = toScript("a \\\n  b &   # note\n# x &\nc && d\ne", (l) => l);
  assert.equal(script, "__kp_snap; a   b & __kp_wait $!  # note\n# x &\nc && d\ne");
});

let server: Server;
let port: number;
before(async () => {
  server = createServer((req, res) => void res.writeHead(req.url === "/ok" ? 200 : 404).end(req.url));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const session = (code: string) => {
  const blocks = shellBlocks(`<!-- test -->\n\`\`\`sh\n${code}\n\`\`\``);
  return run("bash", ["-c", sessionScript(blocks, (l) => l)], { env: cleanEnv({ __KP_PORTS: String(port), __KP_WAIT_S: "1" }), timeoutMs: 20_000 });
};

test("a session stops at the first failing command, curl included", async () => {
  assert.equal((await session(`curl -s http://127.0.0.1:${port}/ok`)).code, 0);
  const r = await session(`curl -s http://127.0.0.1:${port}/missing\necho not reached`);
  assert.notEqual(r.code, 0);
  assert.ok(!r.stdout.includes("not reached"));
  assert.notEqual((await session("false\necho not reached")).code, 0);
});

test("a background command that never listens, or exits first, fails the session; what it started is stopped", async () => {
  const started = Date.now();
  const r = await session("sleep 60 &\necho not reached");
  assert.notEqual(r.code, 0);
  assert.ok(!r.stdout.includes("not reached"));
  assert.match(r.stderr, /did not listen within 1 s/);
  assert.ok(Date.now() - started < 10_000, "the sleep was stopped, not waited for");
  assert.match((await session("false &\necho not reached")).stderr, /exited before it listened/);
});
