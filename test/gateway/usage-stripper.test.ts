/** The usage-chunk stripper on whole streams and on the same streams split at every byte. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageStripper, lastEventEnd } from "../../src/gateway/proxy/usage-stripper.ts";

const chunk = (content: string): string => `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}}}],"usage":null}\n\n`;
const USAGE = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}\n\n';
const DONE = "data: [DONE]\n\n";

function run(parts: Buffer[]): string {
  const s = new UsageStripper();
  const out: Buffer[] = [];
  for (const p of parts) out.push(...s.push(p));
  out.push(...s.end());
  return Buffer.concat(out).toString("utf8");
}

describe("UsageStripper", () => {
  const stream = chunk("Hé") + chunk("llo 👋") + ": keep-alive comment\n\n" + USAGE + DONE;
  const expected = chunk("Hé") + chunk("llo 👋") + ": keep-alive comment\n\n" + DONE;

  it("drops the usage-only event and keeps everything else byte for byte", () => {
    assert.equal(run([Buffer.from(stream)]), expected);
  });

  it("gives the same result split at every byte boundary (multi-byte characters included)", () => {
    const bytes = Buffer.from(stream);
    for (let i = 1; i < bytes.length; i++) {
      assert.equal(run([bytes.subarray(0, i), bytes.subarray(i)]), expected, `split at ${i}`);
    }
    assert.equal(run([...bytes].map((b) => Buffer.from([b]))), expected, "one byte at a time");
  });

  it("handles CRLF framing, a usage event mid-stream, and a last event without its blank line", () => {
    const crlf = chunk("a").replace(/\n/g, "\r\n") + USAGE.replace(/\n/g, "\r\n") + "data: [DONE]";
    assert.equal(run([Buffer.from(crlf)]), chunk("a").replace(/\n/g, "\r\n") + "data: [DONE]");
    const noBlank = chunk("a") + USAGE.slice(0, -2);
    assert.equal(run([Buffer.from(noBlank)]), chunk("a"));
  });

  it("keeps a usage field on an event that still has choices (only usage-only events go)", () => {
    const mixed = 'data: {"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}\n\n';
    assert.equal(run([Buffer.from(mixed)]), mixed);
  });

  it("keeps an empty choices list without usage, and the marker's text inside a reply", () => {
    const empty = 'data: {"choices":[],"usage":null}\n\n';
    const quoted = chunk('"choices":[],"usage":{"x":1}');
    assert.equal(run([Buffer.from(empty + quoted + USAGE + DONE)]), empty + quoted + DONE);
    assert.equal(run([Buffer.from('data: {"x":[],"choices":[],"y":[]}\n\n' + USAGE)]), 'data: {"x":[],"choices":[],"y":[]}\n\n');
  });

  it("holds back an incomplete event until its end arrives", () => {
    const s = new UsageStripper();
    assert.deepEqual(s.push(Buffer.from("data: {\"a\":1}")), []);
    assert.equal(Buffer.concat(s.push(Buffer.from("\n\ndata: b"))).toString(), 'data: {"a":1}\n\n');
    assert.equal(Buffer.concat(s.end()).toString(), "data: b");
  });

  it("holds back what follows the usage event for the end of the answer, and lets it go first if more comes", () => {
    const s = new UsageStripper();
    const now = Buffer.concat(s.push(Buffer.from(chunk("a") + USAGE + DONE))).toString();
    assert.equal(now, chunk("a"), "the content goes at once; [DONE] waits for the end");
    assert.equal(Buffer.concat(s.end()).toString(), DONE);
    // An upstream that keeps talking after its usage event: the held bytes go first, in order.
    const t = new UsageStripper();
    assert.equal(Buffer.concat(t.push(Buffer.from(chunk("a") + USAGE + ": after\n\n"))).toString(), chunk("a"));
    assert.equal(Buffer.concat(t.push(Buffer.from(chunk("b")))).toString(), ": after\n\n" + chunk("b"));
    assert.equal(Buffer.concat(t.end()).toString(), "");
  });

  it("finds the end of the last complete event", () => {
    assert.equal(lastEventEnd(Buffer.from("data: a\n\ndata: b")), 9);
    assert.equal(lastEventEnd(Buffer.from("data: a\r\n\r\n")), 11);
    assert.equal(lastEventEnd(Buffer.from("data: a\n")), -1);
  });
});
