/**
 * The first bytes of a streamed answer, kept until it ends in case it
 * carries no usage and must be counted locally. Bounded: past the cap only
 * the length is counted, and the estimate is scaled by the kept share.
 */
const CAP = 256 * 1024;

export class AnswerKeeper {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#kept >= CAP) return;
    const part = this.#kept + chunk.length > CAP ? chunk.subarray(0, CAP - this.#kept) : chunk;
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  bytes(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#kept);
  }

  /** Kept bytes over all bytes (1 when nothing was dropped). */
  share(): number {
    return this.#total === 0 ? 1 : this.#kept / this.#total;
  }
}
