/** The usage tap reads the same usage however a body is cut into chunks, and passes every byte through. */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import fc from "fast-check";
import { UsageTap } from "../../src/transport/usage-tap.ts";
import { usageOf } from "../../src/transport/usage.ts";

async function through(chunks: Buffer[], contentType: string): Promise<{ out: Buffer; usage: ReturnType<typeof usageOf> }> {
  const tap = new UsageTap(contentType);
  const out: Buffer[] = [];
  tap.on("data", (c: Buffer) => out.push(c));
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks).pipe(tap).on("end", resolve).on("error", reject);
  });
  return { out: Buffer.concat(out), usage: tap.usage };
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

describe("usage tap", () => {
  it("finds the usage event of a stream split at every byte boundary, multi-byte characters included", async () => {
    for (const chunks of splits(SSE)) {
      const { out, usage } = await through(chunks, "text/event-stream; charset=utf-8");
      assert.deepEqual(out, SSE, "bytes pass through untouched");
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

  it("never fails on arbitrary bytes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.boolean(), async (parts, sse) => {
        const chunks = parts.map((p) => Buffer.from(p));
        const { out } = await through(chunks, sse ? "text/event-stream" : "application/json");
        assert.deepEqual(out, Buffer.concat(chunks));
      }),
      { numRuns: 300 },
    );
  });
});
