/** What a logger wrote, kept in memory, for tests that read the log: `createLogger({ destination: capture.destination })`. */
import { Writable } from "node:stream";

export class LogCapture {
  #text = "";
  readonly destination = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      this.#text += chunk.toString();
      done();
    },
  });

  /** Everything written so far. */
  text(): string {
    return this.#text;
  }

  /** The JSON lines written so far, parsed. */
  entries(): Record<string, unknown>[] {
    return this.#text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
