/**
 * A response body kept as bytes, with fixed-length holes (the id and the
 * `created` time) filled in per request: one copy and a few small writes
 * instead of building and encoding the same text again. The simulator's
 * answers to repeated inputs differ only there.
 */
/**
 * Bodies are carved from 256 KiB slabs, as Node pools small buffers: a
 * streamed answer (several KiB) would otherwise allocate an ArrayBuffer each.
 */
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

function take(length: number): Buffer {
  if (length > SLAB_BYTES / 8) return Buffer.allocUnsafe(length);
  if (slabUsed + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + length);
  slabUsed = (slabUsed + length + 7) & ~7;
  return out;
}

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
    const out = take(this.#bytes.length);
    this.#bytes.copy(out);
    for (let v = 0; v < values.length; v++) {
      const value = values[v]!;
      if (value.length !== this.#lengths[v]) return null;
      // Encode once, then copy the bytes to each place (a stream repeats its
      // id in every chunk); TypedArray#set stays out of C++ bindings.
      const bytes = Buffer.from(value, "latin1");
      const offsets = this.#offsets[v]!;
      for (let i = 0; i < offsets.length; i++) out.set(bytes, offsets[i]);
    }
    return out;
  }
}

/** The body from the template, or rendered as text when there is none. */
export function fillOr(template: BodyTemplate | null, values: readonly string[], render: (values: readonly string[]) => string): string | Buffer {
  return template?.fill(values) ?? render(values);
}
