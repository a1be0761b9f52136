/**
 * Passes a response body through untouched while reading its token usage:
 * from the JSON body, or from the SSE event that carries `usage`.
 */
import { Transform, type TransformCallback } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
import { usageOf, type TokenUsage } from "./usage.ts";

const MAX_JSON = 8 * 1024 * 1024;

export class UsageTap extends Transform {
  usage: TokenUsage | null = null;
  readonly #sse: boolean;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  readonly #decoder = new StringDecoder("utf8");
  readonly #parser;

  constructor(contentType: string) {
    super();
    this.#sse = contentType.includes("text/event-stream");
    this.#parser = createParser({
      onEvent: (ev) => {
        // Most events carry text; only parse the few that mention usage.
        if (!ev.data.includes('"usage"')) return;
        try {
          const u = usageOf(JSON.parse(ev.data));
          if (u !== null) this.usage = u;
        } catch {
          // not JSON: nothing to meter
        }
      },
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#sse) this.#parser.feed(this.#decoder.write(chunk));
    else if (this.#size + chunk.length <= MAX_JSON) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#sse) this.#parser.feed(this.#decoder.end());
    else if (this.#size > 0 && this.#size <= MAX_JSON) {
      try {
        this.usage = usageOf(JSON.parse(Buffer.concat(this.#chunks, this.#size).toString("utf8")));
      } catch {
        // not JSON: nothing to meter
      }
    }
    done();
  }
}
