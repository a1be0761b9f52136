/** The usage tail reads the same usage however a body is cut into chunks. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { UsageTail } from "../../src/transport/usage-tail.ts";
import type { TokenUsage } from "../../src/transport/usage.ts";

async function through(chunks: Buffer[], _contentType: string): Promise<{ usage: TokenUsage | null }> {
  const tail = new UsageTail();
  for (const c of chunks) tail.push(c);
  return { usage: tail.usage() };
}

/** Every way of cutting `buf` at one position, plus byte-by-byte. */
function splits(buf: Buffer): Buffer[][] {
  const all: Buffer[][] = [[...buf].map((b) => Buffer.from([b]))];
  for (let i = 1; i < buf.length; i++) all.push([buf.subarray(0, i), buf.subarray(i)]);
  return all;
}

const SSE = Buffer.from(
  [
    ": keep-alive comment",
    "",
    "event: ping",
    "data: {}",
    "",
    'data: {"choices":[{"delta":{"content":"héllo 世界 🚀"}}]}',
    "",
    'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}',
    "",
    "data: [DONE]",
    "",
    "",
  ].join("\n"),
);

describe("usage tail", () => {
  it("finds the usage event of a stream split at every byte boundary, multi-byte characters included", async () => {
    for (const chunks of splits(SSE)) {
      const { usage } = await through(chunks, "text/event-stream; charset=utf-8");
      assert.deepEqual(usage, { promptTokens: 11, completionTokens: 7 });
    }
  });

  it("tolerates garbage lines, CRLF framing and a missing [DONE]", async () => {
    const body = Buffer.from('garbage line\r\ndata: not json\r\n\r\ndata: {"usage":{"prompt_tokens":2,"completion_tokens":3}}\r\n\r\n');
    for (const chunks of splits(body)) {
      const { usage } = await through(chunks, "text/event-stream");
      assert.deepEqual(usage, { promptTokens: 2, completionTokens: 3 });
    }
  });

  it("reads a JSON body's usage, and the Responses API's, whatever the chunking", async () => {
    const chat = Buffer.from(JSON.stringify({ id: "x", choices: [{ message: { content: "ü" } }], usage: { prompt_tokens: 5, completion_tokens: 9 } }));
    const responses = Buffer.from(JSON.stringify({ type: "response.completed", response: { usage: { input_tokens: 4, output_tokens: 6 } } }));
    for (const chunks of splits(chat)) assert.deepEqual((await through(chunks, "application/json")).usage, { promptTokens: 5, completionTokens: 9 });
    assert.deepEqual((await through([responses], "application/json")).usage, { promptTokens: 4, completionTokens: 6 });
    assert.equal((await through([Buffer.from("{not json")], "application/json")).usage, null);
  });

  it("finds the usage of a long body, and ignores the null usage of every stream chunk", async () => {
    const events = Array.from({ length: 2000 }, (_, i) => `data: {"choices":[{"delta":{"content":"word ${i} \\"usage\\":{"}}],"usage":null}\n\n`);
    const body = Buffer.from(`${events.join("")}data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2000}}\n\ndata: [DONE]\n\n`);
    const chunks = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) => body.subarray(i * 1000, (i + 1) * 1000));
    assert.deepEqual((await through(chunks, "text/event-stream")).usage, { promptTokens: 3, completionTokens: 2000 });
    assert.equal((await through([Buffer.from(events.slice(0, 5).join(""))], "text/event-stream")).usage, null);
  });

  it("never throws on arbitrary bytes, and reads a usage object appended to them (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.nat(1000), async (parts, n) => {
        const chunks = parts.map((p) => Buffer.from(p));
        await through(chunks, "application/json");
        const withUsage = [...chunks, Buffer.from(`\n{"usage":{"prompt_tokens":${n},"completion_tokens":1}}`)];
        assert.deepEqual((await through(withUsage, "application/json")).usage, { promptTokens: n, completionTokens: 1 });
      }),
      { numRuns: 300 },
    );
  });
});
