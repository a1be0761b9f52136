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

interface Slot extends RequestLogEntry {
  seq: number;
}

/**
 * The last `capacity` requests. Slots are reused in place (no allocation per
 * request); `add` returns a sequence number through which the answer's status
 * is recorded later, unless the slot was reused meanwhile.
 */
export class RequestLog {
  readonly capacity: number;
  #slots: Slot[] = [];
  #seq = 0;

  constructor(capacity = 1000) {
    this.capacity = capacity;
  }

  add(key: string | null, kind: "key" | "session", method: string, path: string, body: unknown, time: number): number {
    const seq = ++this.#seq;
    const index = seq % this.capacity;
    const slot = this.#slots[index];
    if (slot === undefined) {
      this.#slots[index] = { seq, key, kind, method, path, body, time, status: null };
    } else {
      slot.seq = seq;
      slot.key = key;
      slot.kind = kind;
      slot.method = method;
      slot.path = path;
      slot.body = body;
      slot.time = time;
      slot.status = null;
    }
    return seq;
  }

  setStatus(seq: number, status: number | "reset" | "hang"): void {
    const slot = this.#slots[seq % this.capacity];
    if (slot !== undefined && slot.seq === seq) slot.status = status;
  }

  /** Copies of the entries, oldest first; `key` filters, `limit` keeps the newest. */
  list(key?: string, limit = this.capacity): RequestLogEntry[] {
    const out: RequestLogEntry[] = [];
    const first = Math.max(1, this.#seq - this.capacity + 1);
    for (let seq = first; seq <= this.#seq; seq++) {
      const slot = this.#slots[seq % this.capacity];
      if (slot === undefined || slot.seq !== seq || (key !== undefined && slot.key !== key)) continue;
      out.push({ key: slot.key, kind: slot.kind, method: slot.method, path: slot.path, body: slot.body, time: slot.time, status: slot.status });
    }
    return limit < out.length ? out.slice(out.length - limit) : out;
  }

  clear(): void {
    this.#slots = [];
  }
}

/** A request's place in the log, for code that records its status later. */
export interface LogRef {
  readonly log: RequestLog;
  readonly seq: number;
}

export function setLogStatus(ref: LogRef, status: number | "reset" | "hang"): void {
  ref.log.setStatus(ref.seq, status);
}
