/**
 * `keypool chat` as users run it: interactively through a pseudo-terminal
 * (tmux, on a private socket), and one-shot with the prompt on stdin or as
 * arguments. The CLI runs as a child process (the Node 24 binary running
 * this test) against a simulator, on a temp SQLite store.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { ChatClient } from "../../src/chat/index.ts";
import { createPool } from "../../src/create-pool.ts";
import type { Simulator } from "../../src/sim/index.ts";
import { completionBodies, sessionToken, simKey, testSim } from "./helpers.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/keypool.ts");

interface After {
  after(fn: () => Promise<void> | void): void;
}

function tempStore(t: After): string {
  const dir = mkdtempSync(join(tmpdir(), "keypool-chat-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, "cli.db")}`;
}

function env(sim: Simulator, store: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, KEYPOOL_STORE: store, KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: "", ...extra };
}

/** Runs the CLI with `input` on stdin (not a terminal). */
function oneShot(args: string[], e: NodeJS.ProcessEnv, input: string | null): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, "chat", ...args], { env: e, cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // a child that exits before reading its input: EPIPE, its exit code tells
    child.stdin.end(input ?? "");
  });
}

describe("keypool chat, one-shot", () => {
  it("answers a prompt from stdin, then from arguments, continuing the client's conversation", async (t) => {
    const key = simKey("cli");
    const sim = await testSim(t, { keys: { [key]: "ok" } });
    const store = tempStore(t);
    const e = env(sim, store, { KEYPOOL_KEYS: key });
    const first = await oneShot(["--client", "script", "--system", "Be brief."], e, "What is a key pool?\n");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /You said: "What is a key pool\?"\n$/);
    assert.equal(first.stderr, "");
    const second = await oneShot(["--client", "script", "--system", "Be brief.", "And", "why?"], e, null);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /You said: "And why\?"/);
    assert.deepEqual(
      completionBodies(sim).at(-1)!.messages.map((m) => m.content),
      ["Be brief.", "What is a key pool?", first.stdout.trimEnd(), "And why?"],
      "the second run carried on the first run's conversation",
    );
    const json = await oneShot(["--client", "other", "--json", "hi"], e, null);
    assert.equal(json.code, 0, json.stderr);
    const reply = JSON.parse(json.stdout) as { conversationId: string; usage: { promptTokens: number }; credential: string };
    assert.match(reply.credential, /^sk-cli-…\d{4}$/);
    assert.ok(reply.usage.promptTokens > 0);
  });

  it("answers through a web session with --backend web", async (t) => {
    const token = sessionToken("cliweb");
    const sim = await testSim(t, { sessions: { [token]: "rotate" } });
    const store = tempStore(t);
    const pool = await createPool({ store, health: false });
    await pool.add({ kind: "web", secret: token, baseURL: sim.url });
    await pool.close();
    const out = await oneShot(["--backend", "web", "--client", "wechat-1", "hello", "web"], env(sim, store), null);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /You said: "hello web"/);
    const again = await oneShot(["--backend", "web", "--client", "wechat-1"], env(sim, store), "and again");
    assert.equal(again.code, 0, again.stderr);
    const posts = sim.requests(token).filter((r) => r.path === "/backend-api/conversation");
    assert.equal(posts.length, 2);
    assert.equal(typeof (posts[1]!.body as { conversation_id?: unknown }).conversation_id, "string", "the second run continued the server's conversation");
    assert.equal(sim.session(token).conversations, 1, "one conversation on the server");
    assert.equal(posts.every((p) => p.status === 200), true);
  });

  it("fails clearly without keys, with only dead keys, or without a prompt", async (t) => {
    const key = simKey("dead");
    const sim = await testSim(t, { keys: { [key]: "invalid" } });
    const store = tempStore(t);
    const none = await oneShot(["hello"], env(sim, store), null);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no API keys .*KEYPOOL_KEYS.*\[KP_POOL_EMPTY\]/);
    assert.equal(none.stdout, "");

    const pool = await createPool({ store, health: false, upstream: `${sim.url}/v1` });
    await pool.add(key);
    await assert.rejects(new ChatClient({ pool, model: "gpt-4o-mini" }).sendMessage("retire it"));
    await pool.close();
    const dead = await oneShot(["hello"], env(sim, store), null);
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /none of the pool's API keys can be used \(1 retired\)/);

    const empty = await oneShot([], env(sim, store), "   \n");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /prompt is empty/);
  });

  it("documents itself in --help", async () => {
    const { stdout } = await run(process.execPath, [BIN, "chat", "--help"], { cwd: ROOT });
    for (const word of ["--client", "--conversation", "--backend", "--model", "--system", "--store", "--upstream", "/new", "/history", "/conversations", "/switch", "/quit", "stdin"]) {
      assert.ok(stdout.includes(word), `--help mentions ${word}`);
    }
  });
});

describe("keypool chat, interactive", () => {
  it("streams a reply in a terminal, starts over with /new and leaves with /quit", async (t) => {
    const key = simKey("tty");
    const sim = await testSim(t, { keys: { [key]: "slow:ms=10,chunk_ms=40" } });
    const store = tempStore(t);
    const socket = `kp-chat-test-${randomBytes(4).toString("hex")}`;
    const tmux = (...args: string[]) => run("tmux", ["-L", socket, ...args]);
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const vars = `KEYPOOL_STORE=${quote(store)} KEYPOOL_UPSTREAM=${quote(`${sim.url}/v1`)} KEYPOOL_KEYS=${quote(key)}`;
    const command = `cd ${quote(ROOT)} && env ${vars} ${quote(process.execPath)} ${quote(BIN)} chat --client tty-user; echo "EXITED:$?"; sleep 30`;
    await tmux("new-session", "-d", "-s", "chat", "-x", "120", "-y", "50", command);
    t.after(async () => {
      await tmux("kill-server").catch(() => {});
    });
    const screen = async () => (await tmux("capture-pane", "-p", "-J", "-t", "chat", "-S", "-200")).stdout;
    const waitFor = async (pattern: RegExp, what: string) => {
      const end = Date.now() + 15_000;
      for (;;) {
        const s = await screen();
        if (pattern.test(s)) return s;
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}; the screen:\n${s}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const type = async (text: string) => {
      await tmux("send-keys", "-t", "chat", "-l", text);
      await tmux("send-keys", "-t", "chat", "Enter");
    };

    await waitFor(/client tty-user · api backend[\s\S]*you> $/m, "the banner and prompt");
    await type("hello from a terminal");
    // Streamed: some screen shows the reply begun but not finished.
    let partial = false;
    const end = Date.now() + 15_000;
    for (;;) {
      const s = await screen();
      const after = s.split("you> hello from a terminal")[1] ?? "";
      if (/You said: "hello from a terminal"\s*\n\s*you> /.test(after)) break;
      if (after.trim() !== "" && !after.includes("You said")) partial = true;
      if (Date.now() > end) assert.fail(`no reply; the screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(partial, "the reply appeared piece by piece");
    // Ctrl+C stops a reply being written; nothing of it is stored.
    await type("this one gets interrupted");
    await waitFor(/you> this one gets interrupted\s*\n\s*\S/, "the reply starting");
    await tmux("send-keys", "-t", "chat", "C-c");
    await waitFor(/\(stopped: nothing of this turn was stored\)\s*\n\s*you> $/m, "the stop notice");
    await type("/new");
    const afterNew = await waitFor(/new conversation (conv_\w+)/, "a new conversation");
    const newId = /new conversation (conv_\w+)/.exec(afterNew)![1]!;
    await type("/conversations");
    await waitFor(new RegExp(`\\* ${newId}`), "the list with the new one current");
    await type("/quit");
    await waitFor(/EXITED:0/, "a clean exit");

    const pool = await createPool({ store, health: false });
    t.after(() => pool.close());
    const session = new ChatClient({ pool, model: "gpt-4o-mini" }).session("tty-user");
    const list = await session.conversations();
    assert.equal(list.length, 2, "the first conversation is kept beside the new one");
    assert.equal((await session.current())?.id, newId);
    const old = list.find((c) => c.id !== newId)!;
    assert.equal(old.messageCount, 2);
    assert.equal(old.title, "hello from a terminal");
  });
});
