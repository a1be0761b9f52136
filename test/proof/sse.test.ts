/**
 * The four SSE readers fed the same streams, cut at every byte boundary
 * (multi-byte characters split across chunks), byte by byte, and in random
 * chunkings: the chat client's API parser, its web parser, the gateway's
 * usage stripper and the pool's usage tail. Streams carry comments, `ping`
 * events, CRLF framing, a missing `[DONE]`, junk lines, unreadable data and
 * an error event. Each reader gives the same result for every chunking as
 * for the whole stream, or the same clear error; and the readers agree with
 * each other (the stripper's output reads as the same text, the tail finds
 * the usage the API parser found).
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { readCompletion } from "../../src/chat/backends/api/completion-stream.ts";
import { readWebReply } from "../../src/chat/backends/web/web-stream.ts";
import { UsageStripper } from "../../src/gateway/proxy/usage-stripper.ts";
import { UsageTail } from "../../src/transport/usage-tail.ts";
import { Figures } from "./lib/figures.ts";

// ---- the streams ---------------------------------------------------------------

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: null }], usage: null, ...extra })}\n\n`;
const finish = `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "gpt-4o-mini", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: null })}\n\n`;
const usage = `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 13, completion_tokens: 9, total_tokens: 22 } })}\n\n`;
const DONE = "data: [DONE]\n\n";
const PIECES = ["Hé", "llo ", "世界", " 🚀", "👋🏽", " naïve café"];
const TEXT = PIECES.join("");
const body = [chunk({ role: "assistant", content: "" }), ...PIECES.map((p) => chunk({ content: p }))];

interface ApiCase {
  name: string;
  stream: string;
  /** What the API parser must give: the text and usage, or an error matching this. */
  expect: { text: string; usage: boolean } | RegExp;
}

const API: ApiCase[] = [
  { name: "plain", stream: [...body, finish, usage, DONE].join(""), expect: { text: TEXT, usage: true } },
  {
    name: "comments and pings",
    stream: [": keep-alive\n\n", body[0], "event: ping\ndata: {\"type\":\"ping\"}\n\n", ...body.slice(1, 3), ": another comment\n", "\n", ...body.slice(3), "event: ping\ndata: {}\n\n", finish, usage, DONE].join(""),
    expect: { text: TEXT, usage: true },
  },
  { name: "no [DONE]", stream: [...body, finish, usage].join(""), expect: { text: TEXT, usage: true } },
  { name: "CRLF framing", stream: [...body, finish, usage, DONE].join("").replace(/\n/g, "\r\n"), expect: { text: TEXT, usage: true } },
  // Lone CRs end lines too in SSE; the usage stripper used to drop the whole stream here.
  { name: "CR framing", stream: [...body, finish, usage, DONE].join("").replace(/\n/g, "\r"), expect: { text: TEXT, usage: true } },
  { name: "mixed LF, CRLF and CR", stream: [...body.slice(0, 3), finish.replace(/\n/g, "\r\n"), usage.replace(/\n/g, "\r"), ...body.slice(3).map((e) => e.replace("\n\n", "\r\n\n")), DONE].join(""), expect: { text: TEXT, usage: true } },
  {
    name: "junk fields (ignored by the SSE grammar)",
    stream: ["retry: 1000\n", "id: 7\n", "garbage line with no colon\n", "x-unknown: field\n\n", ...body, "\n\n\n", finish, usage, DONE].join(""),
    expect: { text: TEXT, usage: true },
  },
  { name: "no usage event", stream: [...body, finish, DONE].join(""), expect: { text: TEXT, usage: false } },
  { name: "unreadable data", stream: [...body.slice(0, 3), "data: {not json at all\n\n", ...body.slice(3), DONE].join(""), expect: /unreadable stream event/ },
  { name: "error event mid-stream", stream: [...body.slice(0, 3), `data: ${JSON.stringify({ error: { message: "The server is overloaded", type: "server_error" } })}\n\n`, DONE].join(""), expect: /reported an error mid-stream: The server is overloaded/ },
  { name: "nothing but comments", stream: ": hello\n\n: still here\n\n", expect: /ended before any answer/ },
];

const webEvent = (text: string, extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ message: { id: "msg-2", author: { role: "assistant" }, content: { content_type: "text", parts: [text] }, metadata: { model_slug: "gpt-4o" } }, conversation_id: "conv-9", error: null, ...extra })}\n\n`;
const webUser = `data: ${JSON.stringify({ message: { id: "msg-1", author: { role: "user" }, content: { parts: ["question"] } }, conversation_id: "conv-9" })}\n\n`;
const webBody = [webUser, ...PIECES.map((_, i) => webEvent(PIECES.slice(0, i + 1).join("")))];

interface WebCase {
  name: string;
  stream: string;
  expect: { text: string; sawDone: boolean } | RegExp;
}

const WEB: WebCase[] = [
  { name: "plain", stream: [...webBody, DONE].join(""), expect: { text: TEXT, sawDone: true } },
  { name: "comments, pings, junk data", stream: [": ping\n\n", webBody[0], "event: ping\ndata: ping\n\n", ...webBody.slice(1, 4), "data: not json\n\n", ...webBody.slice(4), DONE].join(""), expect: { text: TEXT, sawDone: true } },
  { name: "no [DONE]", stream: webBody.join(""), expect: { text: TEXT, sawDone: false } },
  { name: "CRLF framing", stream: [...webBody, DONE].join("").replace(/\n/g, "\r\n"), expect: { text: TEXT, sawDone: true } },
  { name: "error mid-stream", stream: [...webBody.slice(0, 3), `data: ${JSON.stringify({ message: null, error: "Something went wrong" })}\n\n`].join(""), expect: /Something went wrong/ },
  { name: "no reply at all", stream: [webUser, ": bye\n\n"].join(""), expect: /closed the stream before any reply/ },
];

// ---- the readers, each giving one comparable result --------------------------------

type Result = string;

async function apiRead(chunks: Buffer[]): Promise<Result> {
  const deltas: string[] = [];
  try {
    const r = await readCompletion(Readable.from(chunks), "text/event-stream; charset=utf-8", (d) => deltas.push(d));
    assert.equal(deltas.join(""), r.text, "the deltas add up to the text");
    return JSON.stringify({ text: r.text, usage: r.usage, model: r.model, finish: r.finishReason });
  } catch (err) {
    return `error ${(err as Error).name}: ${(err as Error).message}`;
  }
}

async function webRead(chunks: Buffer[]): Promise<Result> {
  const deltas: string[] = [];
  try {
    const r = await readWebReply(Readable.from(chunks), (d) => deltas.push(d));
    assert.equal(deltas.join(""), r.text, "the deltas add up to the text");
    return JSON.stringify(r);
  } catch (err) {
    return `error ${(err as Error).name}: ${(err as Error).message}`;
  }
}

function strip(chunks: Buffer[]): Buffer {
  const s = new UsageStripper();
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...s.push(c));
  out.push(...s.end());
  return Buffer.concat(out);
}

function tail(chunks: Buffer[]): Result {
  const t = new UsageTail();
  for (const c of chunks) t.push(c);
  return JSON.stringify(t.usage());
}

// ---- chunkings ------------------------------------------------------------------------

/** The whole, byte by byte, and cut once at every position. */
function* chunkings(buf: Buffer): Generator<Buffer[]> {
  yield [buf];
  yield [...buf].map((b) => Buffer.from([b]));
  for (let i = 1; i < buf.length; i++) yield [buf.subarray(0, i), buf.subarray(i)];
}

const cutAt = (buf: Buffer, points: number[]): Buffer[] => {
  const sorted = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of sorted) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
};

describe("SSE readers: the same streams, every chunking", () => {
  const fig = new Figures("sse", 6, "SSE readers fed every chunking");
  let runs = 0;
  after(() => {
    fig.badInputs(runs);
    fig.note(`${API.length} API streams and ${WEB.length} web streams (multi-byte text, comments, pings, CRLF, no [DONE], junk lines, unreadable data, error events), each cut at every byte, byte by byte and in 200 random chunkings: ${runs} reads`);
    fig.fault(`${API.length + WEB.length} streams cut at every byte, one byte at a time and at random`);
    fig.save();
  });

  for (const c of API) {
    it(`API stream "${c.name}": the chat parser, the usage stripper and the usage tail give one result for every chunking`, async () => {
      const buf = Buffer.from(c.stream);
      const whole = await apiRead([buf]);
      if (c.expect instanceof RegExp) assert.match(whole, c.expect);
      else {
        const r = JSON.parse(whole) as { text: string; usage: unknown };
        assert.equal(r.text, c.expect.text);
        assert.deepEqual(r.usage, c.expect.usage ? { promptTokens: 13, completionTokens: 9 } : null);
      }
      const stripped = strip([buf]);
      const tailWhole = tail([buf]);
      // The readers agree: the tail finds the usage the parser found; the stripped stream reads as the same answer without its usage.
      if (!(c.expect instanceof RegExp)) {
        assert.equal(tailWhole, JSON.stringify(c.expect.usage ? { promptTokens: 13, completionTokens: 9 } : null));
        const afterStrip = JSON.parse(await apiRead([stripped])) as { text: string; usage: unknown };
        assert.equal(afterStrip.text, c.expect.text);
        assert.equal(afterStrip.usage, null, "the usage-only event is gone");
        assert.ok(!stripped.includes('"choices":[],"usage":{'));
        if (!c.expect.usage) assert.deepEqual(stripped, buf, "a stream without a usage event passes byte for byte");
      }
      const check = async (chunks: Buffer[], how: string): Promise<void> => {
        runs += 3;
        assert.equal(await apiRead(chunks), whole, `chat parser, ${how}`);
        assert.deepEqual(strip(chunks), stripped, `usage stripper, ${how}`);
        assert.equal(tail(chunks), tailWhole, `usage tail, ${how}`);
      };
      let n = 0;
      for (const chunks of chunkings(buf)) await check(chunks, `chunking ${n++}`);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(buf.length), { minLength: 1, maxLength: 12 }), (points) => check(cutAt(buf, points), `cut at ${points.join(",")}`)),
        { numRuns: 200 },
      );
    });
  }

  for (const c of WEB) {
    it(`web stream "${c.name}": the web parser gives one result for every chunking`, async () => {
      const buf = Buffer.from(c.stream);
      const whole = await webRead([buf]);
      if (c.expect instanceof RegExp) assert.match(whole, c.expect);
      else {
        const r = JSON.parse(whole) as { text: string; sawDone: boolean; messageId: string; conversationId: string };
        assert.equal(r.text, c.expect.text);
        assert.equal(r.sawDone, c.expect.sawDone);
        assert.equal(r.messageId, "msg-2");
        assert.equal(r.conversationId, "conv-9");
      }
      let n = 0;
      for (const chunks of chunkings(buf)) {
        runs++;
        assert.equal(await webRead(chunks), whole, `chunking ${n++}`);
      }
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(buf.length), { minLength: 1, maxLength: 12 }), async (points) => {
          runs++;
          assert.equal(await webRead(cutAt(buf, points)), whole);
        }),
        { numRuns: 200 },
      );
    });
  }
});
