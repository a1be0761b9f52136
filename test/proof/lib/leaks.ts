/**
 * The secrets hunt: every secret a scenario handed out (upstream keys,
 * session and access tokens, client tokens, the admin token) searched for,
 * whole, in everything the scenario captured (process output, admin answers,
 * metrics, error bodies). A masked form (`sk-…abcd`) is fine; the whole
 * secret is not.
 */
import assert from "node:assert/strict";
import type { Figures, LeakFigures } from "./figures.ts";

export class LeakScan {
  readonly #secrets = new Map<string, string>();
  readonly #places: { where: string; text: string }[] = [];

  /** A secret to look for; `what` names it in a failure ("client token tok_…"). */
  secret(what: string, value: string): void {
    if (value.length < 8) throw new Error(`${what}: too short to hunt for`);
    this.#secrets.set(value, what);
  }

  secrets(what: string, values: Iterable<string>): void {
    for (const v of values) this.secret(what, v);
  }

  /** Text the scenario captured. */
  add(where: string, text: string): void {
    this.#places.push({ where, text });
  }

  /** Reads a response body into the hunt and returns it. */
  async body(where: string, res: Response): Promise<string> {
    const text = await res.text();
    this.add(`${where} (${res.status})`, `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${text}`);
    return text;
  }

  /** Searches every place for every secret; records the figures; fails naming each leak. */
  check(figures?: Figures): LeakFigures {
    const found: string[] = [];
    let bytes = 0;
    for (const { where, text } of this.#places) {
      bytes += Buffer.byteLength(text);
      for (const [value, what] of this.#secrets) if (text.includes(value)) found.push(`${what} in ${where}`);
    }
    const result = { secrets: this.#secrets.size, bytes, places: this.#places.length, found: found.length };
    figures?.leaks(result);
    assert.deepEqual(found, [], "no complete secret in anything captured");
    return result;
  }
}
