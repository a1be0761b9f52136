/**
 * Log lines handed on in batches of about `minLength` bytes, in one write
 * each. sonic-boom batches by itself (`minLength`), but it appends every line
 * to one string and measures that string's UTF-8 length per line, which
 * flattens it: a 12 KB batch of 250-byte lines copied ~600 KB. Under load
 * that was most of what the gateway allocated per request. Here lines wait
 * in an array and are joined once.
 */

/** Where a batch goes: sonic-boom, or any stream with the same calls. */
export interface BatchTarget {
  write(chunk: string): unknown;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
}

export interface LineBatchOptions {
  /** Hand the lines on once they hold this many characters (UTF-16 units, close enough to bytes for a threshold). */
  minLength: number;
  /** Hand on whatever waits at least this often (ms); 0 turns the timer off. */
  flushEveryMs: number;
}

export class LineBatch {
  readonly #target: BatchTarget;
  readonly #minLength: number;
  #lines: string[] = [];
  #length = 0;
  readonly #timer: NodeJS.Timeout | null;

  constructor(target: BatchTarget, options: LineBatchOptions) {
    this.#target = target;
    this.#minLength = options.minLength;
    this.#timer = options.flushEveryMs > 0 ? setInterval(() => this.drain(), options.flushEveryMs).unref() : null;
  }

  write(line: string): boolean {
    this.#lines.push(line);
    this.#length += line.length;
    if (this.#length >= this.#minLength) this.drain();
    return true;
  }

  /** Hands the waiting lines to the target as one write. */
  drain(): void {
    if (this.#lines.length === 0) return;
    const text = this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join("");
    this.#lines = [];
    this.#length = 0;
    this.#target.write(text);
  }

  flush(cb?: (err?: Error) => void): void {
    this.drain();
    if (this.#target.flush !== undefined) this.#target.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.drain();
    this.#target.flushSync?.();
  }

  /** Stops the timer (the waiting lines are handed on first). */
  close(): void {
    this.drain();
    if (this.#timer !== null) clearInterval(this.#timer);
  }
}
