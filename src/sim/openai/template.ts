/**
 * A response body kept as bytes, with fixed-length holes (the id and the
 * `created` time) filled in per request: one copy and a few small writes
 * instead of building and encoding the same text again. The simulator's
 * answers to repeated inputs differ only there.
 */
export class BodyTemplate {
  readonly #bytes: Buffer;
  /** Per hole value: the offsets where it goes. */
  readonly #offsets: readonly (readonly number[])[];
  readonly #lengths: readonly number[];

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

  /** The body with `values` in its holes; null when a value's length does not fit. */
  fill(values: readonly string[]): Buffer | null {
    const out = Buffer.allocUnsafe(this.#bytes.length);
    this.#bytes.copy(out);
    for (let v = 0; v < values.length; v++) {
      const value = values[v]!;
      const length = value.length;
      if (length !== this.#lengths[v]) return null;
      // Write the first place byte by byte (ids are short ASCII), then copy
      // those bytes to the others (a stream repeats its id in every chunk).
      const offsets = this.#offsets[v]!;
      const first = offsets[0]!;
      for (let i = 0; i < length; i++) out[first + i] = value.charCodeAt(i);
      for (let i = 1; i < offsets.length; i++) out.copyWithin(offsets[i]!, first, first + length);
    }
    return out;
  }
}

/** The body from the template, or rendered as text when there is none. */
export function fillOr(template: BodyTemplate | null, values: readonly string[], render: (values: readonly string[]) => string): string | Buffer {
  return template?.fill(values) ?? render(values);
}
