/** A progress bar on stderr, only when stderr is a terminal (never in pipes, logs or tests). */
export class Progress {
  readonly #label: string;
  readonly #out: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #last = 0;
  #shown = false;

  constructor(label: string, out: NodeJS.WriteStream = process.stderr) {
    this.#label = label;
    this.#out = out;
    this.#enabled = out.isTTY === true;
  }

  update(done: number, total: number): void {
    if (!this.#enabled || total === 0) return;
    const now = Date.now();
    if (done < total && now - this.#last < 100) return;
    this.#last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const pct = Math.floor((done / total) * 100);
    this.#out.write(`\r${this.#label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}% ${done}/${total}`);
    this.#shown = true;
  }

  done(): void {
    if (this.#shown) this.#out.write("\r\x1b[K");
    this.#shown = false;
  }
}
