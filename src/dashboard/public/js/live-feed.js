// One connection to the gateway's `/admin/live` stream while signed in: `stats` every second
// and `event` for each audit event. Pages listen to it instead of polling; it reconnects
// with a growing pause when the stream drops. (EventSource cannot send an Authorization
// header, so this reads the stream with fetch.)
import { sse } from "./api.js";

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

export class LiveFeed extends EventTarget {
  #api;
  #abort = null;
  /** The last `stats` payload, for pages that open after it arrived. */
  last = null;
  connected = false;

  constructor(api) {
    super();
    this.#api = api;
  }

  start() {
    if (this.#abort !== null) return;
    this.#abort = new AbortController();
    void this.#run(this.#abort.signal);
  }

  stop() {
    this.#abort?.abort();
    this.#abort = null;
    this.last = null;
    this.#set(false);
  }

  #set(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.dispatchEvent(new CustomEvent("connection", { detail: connected }));
  }

  async #run(signal) {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const res = await this.#api.request("live", { accept: "text/event-stream", signal });
        for await (const { event, data } of sse(res.body)) {
          failures = 0;
          this.#set(true);
          if (event === "stats") this.last = data;
          this.dispatchEvent(new CustomEvent(event, { detail: data }));
        }
      } catch (err) {
        if (signal.aborted || err?.status === 401) return;
      }
      this.#set(false);
      await sleep(Math.min(10_000, 500 * 2 ** failures++), signal);
    }
  }
}
