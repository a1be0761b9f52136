/**
 * Abuse at a `keypool serve` process on SQLite: slow senders (unfinished
 * headers, a trickled body, slowloris connections) are cut off in time while
 * others are served, and thousands of wrong tokens at once all get 401 while
 * valid traffic goes on and memory stays bounded.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Figures } from "./lib/figures.ts";
import { sdk, sleep, within } from "./lib/gateway.ts";
import { inputGateway, type InputGateway } from "./lib/input-gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { Load } from "./lib/load.ts";
import { assertClear, raw, rssMb } from "./lib/raw-http.ts";

describe("abuse at the gateway", () => {
  const fig = new Figures("gateway-abuse", 5.5, "Slow senders and brute-forced tokens");
  const leaks = new LeakScan();
  let g: InputGateway;
  let tried = 0;
  let valid = 0;

  before(async () => {
    g = await inputGateway("abuse", leaks);
  });

  after(async () => {
    await g?.close();
    leaks.check(fig);
    fig.badInputs(tried);
    fig.sent(tried + valid);
    fig.save();
  });

  it("cuts slow senders off in time, and serves others meanwhile", async (t) => {
    const { gw, token, snapshot } = g;
    const stored = await snapshot();
    // Headers that never end: 408 once the header timeout (1 s) passes.
    const slowHeaders = raw(gw.port, "GET /healthz HTTP/1.1\r\nhost: x\r\n", 6000);
    // A body trickled a byte at a time, never finished: 408 at the request timeout (1.5 s).
    const trickle = raw(
      gw.port,
      (socket) => {
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
        const timer = setInterval(() => (socket.writable ? socket.write(" ") : clearInterval(timer)), 100);
        socket.on("close", () => clearInterval(timer));
      },
      6000,
    );
    // Twenty slowloris connections at once.
    const loris = Array.from({ length: 20 }, () =>
      raw(
        gw.port,
        (socket) => {
          socket.write("GET /healthz HTTP/1.1\r\n");
          const timer = setInterval(() => (socket.writable ? socket.write("x-a: b\r\n") : clearInterval(timer)), 200);
          socket.on("close", () => clearInterval(timer));
        },
        6000,
      ),
    );
    const client = sdk(gw, token);
    const served: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `meanwhile ${i}` }] });
      served.push(performance.now() - t0);
      valid++;
      await sleep(50);
    }
    const [h, b, ...l] = await Promise.all([slowHeaders, trickle, ...loris]);
    tried += 22;
    assertClear(h!, "headers never finished", 408);
    assertClear(b!, "body trickled", 408);
    assert.ok(h!.ms < 3500 && b!.ms < 4000, `cut off after ${h!.ms.toFixed(0)} and ${b!.ms.toFixed(0)} ms`);
    for (const a of l) assert.ok(a.ms < 4000 && (a.status === 408 || a.status === 431 || a.status === 0), `slowloris cut (${a.status} after ${a.ms.toFixed(0)} ms)`);
    assert.ok(Math.max(...served) < 2000, `served meanwhile, slowest ${Math.max(...served).toFixed(0)} ms`);
    // The valid calls above were metered: compare everything but usage and the token's count.
    const strip = (s: string) => {
      const o = JSON.parse(s) as { usage: unknown; tokens: unknown[][]; creds: unknown };
      return JSON.stringify({ creds: o.creds, tokens: o.tokens.map((x) => [x[0], x[2], x[3]]) });
    };
    assert.equal(strip(await snapshot()), strip(stored));
    fig.timing("slow senders cut off (timeouts 1 and 1.5 s)", Math.max(h!.ms, b!.ms));
    fig.fault("slow senders");
    fig.errors(22, "408 or a closed connection for slow senders");
    t.diagnostic(`slow headers cut after ${h!.ms.toFixed(0)} ms, trickled body after ${b!.ms.toFixed(0)} ms, 20 slowloris within ${Math.max(...l.map((a) => a.ms)).toFixed(0)} ms; 10 calls served meanwhile, slowest ${Math.max(...served).toFixed(0)} ms`);
  });

  it("answers 401 to thousands of wrong tokens, keeps serving valid traffic, and keeps its memory bounded", async (t) => {
    const { gw, token } = g;
    const client = sdk(gw, token);
    const timed = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `valid ${i}` }] });
        out.push(performance.now() - t0);
      }
      return out;
    };
    const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    await timed(20); // warm
    const quiet = await timed(40);
    const rssBefore = rssMb(gw.pid);
    const WRONG = 5000;
    const load = new Load(WRONG);
    let statusOk = 0;
    const wrongToken = (i: number): string => {
      const kind = i % 4;
      if (kind === 0) return `kp-${randomBytes(32).toString("base64url")}`; // a token's shape
      if (kind === 1) return `${token.slice(0, 20)}${randomBytes(16).toString("base64url")}`; // the real token's prefix
      if (kind === 2) return randomBytes(1 + (i % 200)).toString("hex"); // any length
      return `sk-${randomBytes(24).toString("hex")}`; // an upstream key's shape
    };
    for (let w = 0; w < 40; w++) {
      load.worker("wrong", async (i) => {
        const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${wrongToken(w * 10_000 + i)}` } });
        await res.arrayBuffer();
        if (res.status === 401) statusOk++;
        return 0;
      });
    }
    const t0 = performance.now();
    const during = await timed(40);
    await within(load.done(), 60_000);
    const bruteMs = performance.now() - t0;
    const rssAfter = rssMb(gw.pid);
    tried += load.calls.length;
    assert.equal(load.failed().length, 0);
    assert.equal(statusOk, load.calls.length, "every wrong token got 401");
    const slowdown = p50(during) / p50(quiet);
    t.diagnostic(
      `${load.calls.length} wrong tokens in ${bruteMs.toFixed(0)} ms (${((load.calls.length / bruteMs) * 1000).toFixed(0)}/s), all 401; valid calls p50 ${p50(quiet).toFixed(1)} ms quiet, ${p50(during).toFixed(1)} ms during (×${slowdown.toFixed(1)}); RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`,
    );
    assert.ok(p50(during) < Math.max(250, p50(quiet) * 25), "valid traffic served throughout, not starved");
    assert.ok(rssAfter - rssBefore < 150, `memory bounded: RSS grew ${(rssAfter - rssBefore).toFixed(0)} MB`);
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    fig.fault(`${load.calls.length} wrong tokens from 40 connections`);
    fig.errors(load.calls.length, "401 for wrong tokens (0 errors for valid calls)");
    fig.timing("valid call p50, quiet", p50(quiet));
    fig.timing("valid call p50, under the brute force", p50(during));
    fig.note(`brute force: ${load.calls.length} wrong tokens at ${((load.calls.length / bruteMs) * 1000).toFixed(0)}/s, all 401; valid calls ×${slowdown.toFixed(1)} slower at p50 meanwhile; RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`);
    valid += quiet.length + during.length + 20;
  });
});
