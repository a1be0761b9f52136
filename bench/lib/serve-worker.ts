/**
 * Runs a server under test in its own thread, so that it does not share an
 * event loop with the load generator: a fixed-body node:http baseline or a
 * simulator. Posts `{ url }` once listening; answers "cpu" with the thread's
 * CPU time (µs); closes on "close".
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { startSimulator, type SimulatorOptions } from "../../src/sim/index.ts";

export type ServeSpec =
  | { readonly kind: "baseline"; readonly body: string; readonly headers: readonly string[]; readonly chunked: boolean }
  | { readonly kind: "sim"; readonly options: SimulatorOptions };

const spec = workerData as ServeSpec;
let close: () => Promise<void>;

if (spec.kind === "baseline") {
  const body = Buffer.from(spec.body);
  // The minimal server: one fixed answer, no routing, no parsing.
  const headers = [...spec.headers];
  if (!spec.chunked) headers.push("content-length", String(body.length));
  const server = createServer({ keepAliveTimeout: 65_000 }, (_req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  parentPort!.postMessage({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, []);
} else {
  const sim = await startSimulator(spec.options);
  close = () => sim.close();
  parentPort!.postMessage({ url: sim.url }, []);
}

parentPort!.on("message", (message) => {
  if (message === "close") void close().then(() => parentPort!.close());
  if (message === "cpu") {
    const usage = process.threadCpuUsage();
    parentPort!.postMessage({ cpu: usage.user + usage.system }, []);
  }
});
