import { once } from "node:events";
import { Worker } from "node:worker_threads";
import type { SimulatorOptions } from "../../src/sim/index.ts";
import type { ServeSpec } from "./serve-worker.ts";

/** A server running in a worker thread. */
export interface ThreadServer {
  readonly url: string;
  /** CPU time the server's thread has used so far, in µs. */
  cpu(): Promise<number>;
  close(): Promise<void>;
}

async function serve(spec: ServeSpec): Promise<ThreadServer> {
  const worker = new Worker(new URL("./serve-worker.ts", import.meta.url), { workerData: spec });
  const [message] = (await once(worker, "message")) as [{ url: string }];
  return {
    url: message.url,
    async cpu() {
      worker.postMessage("cpu", []);
      const [reply] = (await once(worker, "message")) as [{ cpu: number }];
      return reply.cpu;
    },
    async close() {
      worker.postMessage("close", []);
      await once(worker, "exit");
    },
  };
}

/**
 * The baseline: a minimal node:http server answering `body` with `headers`
 * (a flat list; content-length is added unless `chunked`, as streams are
 * sent) to every request.
 */
export function startBaseline(body: string, headers: readonly string[], chunked = false): Promise<ThreadServer> {
  return serve({ kind: "baseline", body, headers, chunked });
}

export function startSimThread(options: SimulatorOptions): Promise<ThreadServer> {
  return serve({ kind: "sim", options });
}
