/**
 * A response body kept as bytes, with fixed-length holes (the id and the
 * `created` time) filled in per request: a few small writes instead of
 * building and encoding the same text again. The simulator's answers to
 * repeated inputs differ only there.
 *
 * Bodies are recycled: once an answer has been written out (its `end`
 * callback, after the socket took the bytes), `release` gives the buffer back
 * and the next answer only rewrites its holes. A stream's several KiB are
 * then neither allocated nor copied per request.
 */
const MAX_FREE = 256;

export class BodyTemplate {
  readonly #bytes: Buffer;
  /** Per hole value: the offsets where it goes. */
  readonly #offsets: readonly (readonly number[])[];
  readonly #lengths: readonly number[];
  readonly #free: Buffer[] = [];
  readonly #scratch = new Uint8Array(64);

  private constructor(bytes: Buffer, offsets: number[][], lengths: number[]) {
    this.#bytes = bytes;
    this.#offsets = offsets;
    this.#lengths = lengths;
  }

  /**
   * `render` builds the body from hole values; it is called once with
   * sentinel values of the given lengths, which are then located.
   */
  static build(lengths: readonly number[], render: (values: readonly string[]) => string): BodyTemplate | null {
    if (lengths.some((n) => n > 64)) return null;
    const sentinels = lengths.map((n, i) => String.fromCharCode(1 + i).repeat(n));
    const bytes = Buffer.from(render(sentinels));
    const offsets: number[][] = [];
    for (const sentinel of sentinels) {
      const found: number[] = [];
      const needle = Buffer.from(sentinel);
      for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + needle.length)) found.push(at);
      if (found.length === 0) return null;
      offsets.push(found);
    }
    return new BodyTemplate(bytes, offsets, [...lengths]);
  }

  /** The body with `values` (ASCII) in its holes; null when a value's length does not fit. */
  fill(values: readonly string[]): Buffer | null {
    for (let v = 0; v < values.length; v++) if (values[v]!.length !== this.#lengths[v]) return null;
    let out = this.#free.pop();
    if (out === undefined) {
      out = Buffer.allocUnsafeSlow(this.#bytes.length);
      this.#bytes.copy(out);
    }
    const view = new Uint8Array(out.buffer, out.byteOffset, out.length);
    const scratch = this.#scratch;
    for (let v = 0; v < values.length; v++) {
      const value = values[v]!;
      const length = value.length;
      for (let i = 0; i < length; i++) scratch[i] = value.charCodeAt(i);
      const bytes = scratch.subarray(0, length);
      const offsets = this.#offsets[v]!;
      for (let i = 0; i < offsets.length; i++) view.set(bytes, offsets[i]);
    }
    return out;
  }

  /** Takes back a body from `fill` once it has been written out. */
  release(body: Buffer): void {
    if (this.#free.length < MAX_FREE && body.length === this.#bytes.length) this.#free.push(body);
  }
}

/** The body from the template, or rendered as text when there is none. */
export function fillOr(template: BodyTemplate | null, values: readonly string[], render: (values: readonly string[]) => string): string | Buffer {
  return template?.fill(values) ?? render(values);
}
