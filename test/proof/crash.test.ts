/**
 * Crash: a `keypool serve` on SQLite under load — API traffic with client
 * tokens (JSON and streams), keys added and switched through the admin API,
 * keys dying upstream, and chat conversations from a second process on the
 * same file — is killed with SIGKILL together with the chat process, then
 * started again. Whatever was acknowledged before the kill is there after
 * it; calls in flight fail at once for their clients; the new process
 * serves within a second.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { ImportReport } from "../../src/gateway/keys-import.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import type { AuditEvent, CredentialView } from "../../src/pool/types.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { UsageRow } from "../../src/store/types.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { Figures } from "./lib/figures.ts";
import { adminFetch, adminJson, adminToken, captureOutput, followEvents, kill, proofKey, sdk, serve, sleep, waitUntil, within, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { Load } from "./lib/load.ts";

const CHAT_WORKER = fileURLToPath(new URL("./fixtures/chat-worker.ts", import.meta.url));

interface ChatAck {
  client: string;
  conv: string;
  q: string;
  a: string;
}

describe("crash: SIGKILL of a gateway on SQLite under load", () => {
  const fig = new Figures("crash", 1, "Crash: SIGKILL under load (SQLite)");
  const leaks = new LeakScan();
  const dir = tempDir("keypool-proof-crash-");
  const ADMIN = adminToken();
  let sim: Simulator | undefined;
  const gateways: Gw[] = [];
  let worker: ChildProcess | undefined;
  const load = new Load(20_000);
  let adminStop = false;
  let polling = false;
  after(async () => {
    load.stop();
    adminStop = true;
    polling = false;
    worker?.kill("SIGKILL");
    await Promise.all(gateways.map((g) => kill(g)));
    await sim?.close();
    dir.remove();
    fig.save();
  });

  it("keeps every acknowledged key, state change, audit entry, token, message and usage record; in-flight calls fail at once", async (t) => {
    const ok = [0, 1, 2, 3].map((i) => proofKey(`crashok${i}`));
    const toggled = ok[0]!;
    const slow = proofKey("crashslow");
    const revoked = proofKey("crashrevoked");
    const broke = proofKey("crashbroke");
    const later: string[] = [];
    sim = await startSimulator({ keys: { ...Object.fromEntries([...ok, revoked, broke].map((k) => [k, "ok"])), [slow]: "slow:ms=50,chunk_ms=60" } });
    leaks.secrets("upstream key", [...ok, slow, revoked, broke]);
    leaks.secret("admin token", ADMIN);
    const spec = `sqlite:${dir.file()}`;
    const args = ["--store", spec, "--health-interval", "0", "--strategy", "round-robin"];
    const env = { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: ADMIN };
    const g1 = await serve("gateway before the kill", args, env);
    gateways.push(g1);
    let adminCalls = 0;
    const admin = <T>(path: string, init: RequestInit = {}): Promise<T> => {
      adminCalls++;
      return adminJson<T>(g1, ADMIN, path, init);
    };

    // Acknowledged: keys (201 with a result per line), tokens (201), admin switches (200), audit events (streamed after the store took them).
    const ackedKeys = new Set<string>();
    const addKeys = async (items: unknown[]): Promise<void> => {
      const r = await admin<ImportReport>("/admin/keys", { method: "POST", body: JSON.stringify({ keys: items }) });
      for (const line of r.results) if (line.status === "added") ackedKeys.add(line.id!);
    };
    await addKeys([...[...ok, revoked, broke].map((secret) => ({ secret, models: ["gpt-4o-mini"] })), { secret: slow, models: ["gpt-4o"] }]);
    const tokens: { id: string; name: string; token: string }[] = [];
    for (const name of ["app-a", "app-b"]) {
      const created = await admin<{ id: string; token: string }>("/admin/tokens", { method: "POST", body: JSON.stringify({ name }) });
      tokens.push({ id: created.id, name, token: created.token });
      leaks.secret(`client token ${name}`, created.token);
    }
    // Audit events are acknowledged once the store has them: streamed by the gateway for its own, and
    // read back through its admin API for those the chat process wrote (it uses the same keys).
    const ackedEvents = new Map<string, AuditEvent>();
    const feed = followEvents(g1, ADMIN, (e) => ackedEvents.set(e.id, e));
    await feed.ready;
    polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          for (const e of (await adminJson<{ data: AuditEvent[] }>(g1, ADMIN, "/admin/events?limit=1000")).data) ackedEvents.set(e.id, e);
        } catch {
          // killed under this read
        }
        await sleep(100);
      }
    })();

    // Chat conversations from a second process on the same file.
    worker = spawn(process.execPath, [CHAT_WORKER, spec, `${sim.url}/v1`, "alice", "bob", "carol"], { stdio: ["ignore", "pipe", "pipe"] });
    const workerExited = new Promise<void>((r) => worker!.once("exit", () => r()));
    const ackedMessages: ChatAck[] = [];
    let chatErrors = 0;
    let workerOut = "";
    let workerErr = "";
    worker.stderr!.on("data", (d: Buffer) => (workerErr += d.toString()));
    let workerReady = false;
    createInterface({ input: worker.stdout! }).on("line", (line) => {
      workerOut += `${line}\n`;
      if (line === "ready") workerReady = true;
      else if (line.startsWith("msg ")) ackedMessages.push(JSON.parse(line.slice(4)) as ChatAck);
      else if (line.startsWith("err ")) chatErrors++;
    });
    await waitUntil("the chat worker", () => workerReady, 15_000);

    // API load: JSON calls on two tokens, and slow streams that will be mid-answer at the kill.
    for (const tk of tokens) {
      const client = sdk(g1, tk.token);
      for (let w = 0; w < 2; w++) {
        load.worker(tk.id, async (i) => (await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `${tk.name} ${w} ${i}` }] })).usage!.total_tokens);
      }
      load.worker(tk.id, async (i) => {
        const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: `stream ${tk.name} ${i}` }], stream: true, stream_options: { include_usage: true } });
        let total = 0;
        for await (const chunk of stream) if (chunk.usage) total = chunk.usage.total_tokens;
        return total;
      });
    }
    // Admin traffic: the toggled key switched off and on (each switch with its own note), keys added in batches.
    const ackedSwitches: { note: string; to: string }[] = [];
    let switchesTried = 0;
    const adminLoop = (async () => {
      for (let i = 1; !adminStop; i++) {
        try {
          const action = i % 2 === 1 ? "disable" : "enable";
          const note = `proof ${action} ${i}`;
          switchesTried++;
          await admin(`/admin/keys/${credentialId(toggled)}/${action}`, { method: "POST", body: JSON.stringify({ note }) });
          ackedSwitches.push({ note, to: action === "disable" ? "disabled" : "active" });
          if (i % 3 === 0) {
            const fresh = [proofKey(`crashlater${i}a`), proofKey(`crashlater${i}b`)];
            for (const k of fresh) sim!.setKey(k, "ok");
            later.push(...fresh);
            leaks.secrets("upstream key", fresh);
            await addKeys(fresh.map((secret) => ({ secret, models: ["gpt-4o-mini"] })));
          }
        } catch {
          // the gateway was killed under this call: not acknowledged
        }
        await sleep(80);
      }
    })();

    // Keys dying upstream mid-run: one revoked (→ retired), one out of quota (→ quarantined).
    await sleep(600);
    sim.setKey(revoked, "invalid");
    await sleep(300);
    sim.setKey(broke, "quota");
    const byKey = (k: string, to: string) => [...ackedEvents.values()].some((e) => e.credentialId === credentialId(k) && e.kind === "state" && e.to === to);
    await waitUntil("the revoked key retired and the broke one quarantined", () => byKey(revoked, "retired") && byKey(broke, "quarantined"), 15_000);
    await waitUntil("load on every path, streams mid-answer", () => ackedMessages.length >= 6 && load.answered().length >= 60 && load.inflight.filter((c) => c.group === tokens[0]!.id || c.group === tokens[1]!.id).length >= 4 && ackedSwitches.length >= 4, 20_000);
    const metricsBefore = await (await fetch(`${g1.url}/metrics`)).text();
    leaks.add("metrics before the kill", metricsBefore);
    // Wait for a moment when a stream is mid-answer (its first bytes out), then kill both processes at once.
    const streamsBefore = load.answered().length;
    await sleep(150);
    load.stop();
    adminStop = true;
    const inflight = load.inflight;
    const killAt = performance.now();
    worker.kill("SIGKILL");
    await kill(g1);
    await workerExited;
    feed.close();
    polling = false;
    await poller;
    fig.fault("SIGKILL of the gateway and of the chat process, mid-load");
    fig.fault("2 keys dying upstream mid-run");

    // Every call in flight ends, with an error, right away.
    const settled = await within(load.done(), 10_000);
    assert.ok(settled, `calls still hanging 10 s after the kill: ${load.inflight.length}`);
    await adminLoop;
    const settleMs = Math.max(0, ...inflight.map((c) => c.ended! - killAt));
    const cut = inflight.filter((c) => c.ok === false);
    t.diagnostic(`${inflight.length} calls in flight at the kill (${cut.length} cut, ${inflight.length - cut.length} finished first); the slowest ended ${settleMs.toFixed(0)} ms after it`);
    assert.ok(inflight.length >= 4, "calls were in flight at the kill");
    assert.ok(settleMs < 2000, `in-flight calls ended ${settleMs.toFixed(0)} ms after the kill`);
    for (const c of cut) assert.equal(c.error!.status, 0, `a connection error, not an answer: ${JSON.stringify(c.error)}`);
    const failedBefore = load.failed().filter((c) => !inflight.includes(c));
    assert.deepEqual(failedBefore.map((c) => c.error), [], "no call failed before the kill");
    assert.ok(streamsBefore > 0);

    // The new process, on the same file.
    const restartAt = performance.now();
    const g2 = await serve("gateway after the kill", args, env);
    gateways.push(g2);
    const first = await sdk(g2, tokens[0]!.token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "back?" }] });
    const serveMs = performance.now() - restartAt;
    t.diagnostic(`restarted: listening after ${g2.startMs.toFixed(0)} ms, first answer after ${serveMs.toFixed(0)} ms`);
    assert.ok(first.usage!.total_tokens > 0);
    assert.ok(serveMs < 2500, `the new process answered after ${serveMs.toFixed(0)} ms`);

    const read = <T>(path: string): Promise<T> =>
      adminFetch(g2, ADMIN, path).then(async (res) => {
        adminCalls++;
        const text = await leaks.body(`admin ${path} after the restart`, res);
        assert.equal(res.status, 200, text);
        return JSON.parse(text) as T;
      });
    let lost = 0;
    let checked = 0;
    const expectAll = (what: string, acked: Iterable<string>, present: ReadonlySet<string>): void => {
      const missing = [...acked].filter((x) => !present.has(x));
      checked += [...acked].length;
      lost += missing.length;
      assert.deepEqual(missing, [], `every acknowledged ${what} survived`);
    };

    const keys = (await read<{ data: CredentialView[] }>("/admin/keys")).data;
    expectAll("key", ackedKeys, new Set(keys.map((k) => k.id)));
    const events = (await read<{ data: AuditEvent[] }>("/admin/events?limit=10000")).data;
    expectAll("audit event", ackedEvents.keys(), new Set(events.map((e) => e.id)));
    expectAll("admin switch", ackedSwitches.map((s) => s.note), new Set(events.filter((e) => e.kind === "state").map((e) => e.reason)));
    for (const k of keys) {
      const newest = events.find((e) => e.credentialId === k.id && e.kind === "state");
      if (newest !== undefined) assert.equal(k.state, newest.to, `${k.id}: its state is the one its newest event says`);
    }
    const state = (k: string) => keys.find((v) => v.id === credentialId(k))!.state;
    assert.equal(state(revoked), "retired");
    assert.equal(state(broke), "quarantined");
    assert.ok(["active", "disabled"].includes(state(toggled)));
    // Unless a switch was in flight at the kill (it may or may not have landed), the last acknowledged one holds.
    if (switchesTried === ackedSwitches.length) assert.equal(state(toggled), ackedSwitches.at(-1)!.to, "the toggled key is as the last acknowledged switch left it");

    const storedTokens = (await read<{ data: { id: string; state: string }[] }>("/admin/tokens")).data;
    expectAll("client token", tokens.map((tk) => tk.id), new Set(storedTokens.filter((s) => s.state === "active").map((s) => s.id)));

    // Usage: every answer a client got was stored; at most the calls in flight (and the one after the restart) on top.
    const usage = (await read<{ data: UsageRow[] }>("/admin/usage?groupBy=token")).data;
    for (const tk of tokens) {
      const row = usage.find((r) => r.tokenId === tk.id) ?? { requests: 0, promptTokens: 0, completionTokens: 0 };
      const answered = load.answered(tk.id);
      const extra = inflight.filter((c) => c.group === tk.id).length + (tk === tokens[0] ? 1 : 0);
      const answeredTokens = load.tokens(tk.id) + (tk === tokens[0] ? first.usage!.total_tokens : 0);
      checked += answered.length;
      const missing = Math.max(0, answered.length + (tk === tokens[0] ? 1 : 0) - row.requests);
      lost += missing;
      assert.equal(missing, 0, `${tk.name}: every answered call's usage is stored (${row.requests} stored, ${answered.length} answered)`);
      assert.ok(row.promptTokens + row.completionTokens >= answeredTokens, `${tk.name}: tokens stored ${row.promptTokens + row.completionTokens} >= answered ${answeredTokens}`);
      assert.ok(row.requests <= answered.length + extra, `${tk.name}: nothing counted twice (${row.requests} stored, ${answered.length} answered, ${extra} in flight)`);
    }

    // Conversations: every message the chat process acknowledged is stored, with its reply linked to it.
    const store = await openStore(spec);
    try {
      const presentMessages = new Set<string>();
      for (const m of ackedMessages) {
        const [q, a, conv] = await Promise.all([store.conversations.message(m.q), store.conversations.message(m.a), store.conversations.get(m.conv)]);
        if (q !== null && q.conversationId === m.conv) presentMessages.add(m.q);
        if (a !== null && a.parentMessageId === m.q && a.conversationId === m.conv && conv !== null) presentMessages.add(m.a);
      }
      expectAll("chat message", ackedMessages.flatMap((m) => [m.q, m.a]), presentMessages);
    } finally {
      await store.close();
    }

    // Every token still works on the new process.
    for (const tk of tokens.slice(1)) {
      const r = await sdk(g2, tk.token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "still me" }] });
      assert.ok(r.id);
    }
    leaks.add("metrics after the restart", await (await fetch(`${g2.url}/metrics`)).text());
    leaks.add("client errors", JSON.stringify(load.failed().map((c) => c.error)));
    leaks.secrets("upstream key", later);
    await kill(g2, "SIGTERM");
    for (const g of gateways) captureOutput(leaks, g);
    leaks.add("chat process stdout", workerOut);
    leaks.add("chat process stderr", workerErr);
    leaks.check(fig);

    fig.sent(load.calls.length + adminCalls + ackedMessages.length + chatErrors + tokens.length);
    fig.errors(cut.length, "calls in flight cut by the kill (connection errors)");
    fig.errors(chatErrors, "chat turns failed");
    fig.checked(checked, lost);
    fig.timing("restart → first answer", serveMs);
    fig.timing("kill → last in-flight call failed", settleMs);
    fig.note(`${ackedKeys.size} keys, ${ackedEvents.size} audit events, ${ackedSwitches.length} admin switches, ${tokens.length} tokens, ${ackedMessages.length * 2} chat messages, ${load.answered().length} metered answers acknowledged before the kill; ${inflight.length} calls in flight at it`);
    t.diagnostic(fig.data.notes.at(-1)!);
  });
});
