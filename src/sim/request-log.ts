/** One request the simulator received, as `requests()` and `GET /_sim/requests` show it. */
export interface RequestLogEntry {
  /** The API key or the session id (its first token); null when none was sent. */
  key: string | null;
  kind: "key" | "session";
  method: string;
  path: string;
  /** The parsed JSON body (the raw text when it was not JSON; null without a body). */
  body: unknown;
  /** Unix milliseconds. */
  time: number;
  /** The answer's status once sent; `reset`/`hang` when cut; null while pending. */
  status: number | "reset" | "hang" | null;
}

/** The last `capacity` requests, oldest first. */
export class RequestLog {
  readonly capacity: number;
  #ring: Array<RequestLogEntry | undefined>;
  #next = 0;

  constructor(capacity = 1000) {
    this.capacity = capacity;
    this.#ring = Array.from<RequestLogEntry | undefined>({ length: capacity });
  }

  add(entry: RequestLogEntry): RequestLogEntry {
    this.#ring[this.#next] = entry;
    this.#next = (this.#next + 1) % this.capacity;
    return entry;
  }

  list(key?: string, limit = this.capacity): RequestLogEntry[] {
    const out: RequestLogEntry[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const e = this.#ring[(this.#next + i) % this.capacity];
      if (e !== undefined && (key === undefined || e.key === key)) out.push(e);
    }
    return limit < out.length ? out.slice(out.length - limit) : out;
  }

  clear(): void {
    this.#ring = Array.from<RequestLogEntry | undefined>({ length: this.capacity });
    this.#next = 0;
  }
}
