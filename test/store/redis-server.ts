/** A redis-server of the test's own, on a free port, that the test may stop, freeze and restart. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rawClient } from "./redis-harness.ts";
import { sleep } from "../helpers/records.ts";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export class OwnRedis {
  readonly port: number;
  readonly url: string;
  #child: ChildProcess | null = null;
  readonly #dir = mkdtempSync(join(tmpdir(), "keypool-redis-"));

  readonly #persist: boolean;

  /** `persist`: keep data across kill and restart (append-only file, fsync always), like a real outage. */
  constructor(port: number, options: { persist?: boolean } = {}) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}/0`;
    this.#persist = options.persist ?? false;
  }

  /** Starts the server and waits until it answers. */
  async start(): Promise<void> {
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", this.#persist ? "yes" : "no", "--appendfsync", "always", "--dir", this.#dir], { stdio: "ignore" });
    child.once("error", () => undefined);
    this.#child = child;
    const deadline = Date.now() + 5000;
    for (;;) {
      const client = rawClient(this.url);
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (err) {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (is redis-server installed?)`, { cause: err });
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer within 5 s`, { cause: err });
        await sleep(20);
      } finally {
        client.disconnect();
      }
    }
  }

  /** Kills the server (no goodbye to clients) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  }

  freeze(): void {
    this.#child?.kill("SIGSTOP");
  }

  thaw(): void {
    this.#child?.kill("SIGCONT");
  }

  async dispose(): Promise<void> {
    this.thaw();
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
