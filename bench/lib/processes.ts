/**
 * keypool child processes for benchmarks and the soak: started and awaited
 * until they print their address, a one-off CLI call, and what /proc says of
 * a process's CPU time and memory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "../../scripts/build.ts";

/** This checkout's CLI, from its sources (Node strips the types). */
export const KEYPOOL_BIN = fileURLToPath(new URL("../../bin/keypool.ts", import.meta.url));

/**
 * The gateway as `npm start` and the installed package run it: dist/, built now from this
 * checkout's sources. Not the sources themselves: stripping types at run time keeps the stripper
 * (a wasm module) and every file's source in memory, ~20 MB of a gateway's RSS.
 */
export function servedBin(): string {
  build();
  return fileURLToPath(new URL("../../dist/bin/keypool.js", import.meta.url));
}

export interface Child {
  proc: ChildProcess;
  url: string;
  /** SIGTERM, resolved at exit. */
  stop(): Promise<void>;
}

/**
 * Runs `node [nodeArgs] script... args...` and resolves once it prints `listening on URL` (the
 * simulator prints it on stdout, the gateway on stderr; both are drained from then on).
 */
export function startChild(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = [], script: string[] = [KEYPOOL_BIN]): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...nodeArgs, ...script, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m === null) return;
      proc.stderr!.off("data", onData);
      proc.stdout!.off("data", onData);
      proc.stderr!.resume();
      proc.stdout!.resume();
      resolve({
        proc,
        url: m[1]!,
        stop: () =>
          new Promise((r) => {
            if (proc.exitCode !== null) return r();
            proc.once("exit", () => r());
            proc.kill("SIGTERM");
          }),
      });
    };
    proc.stderr!.on("data", onData);
    proc.stdout!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
  });
}

/** A one-off keypool command; resolves with its stdout, trimmed. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, bin = KEYPOOL_BIN): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.once("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`keypool ${args.join(" ")} exited with ${code}`))));
  });
}

/** CPU time (user + system, every thread) a process has used, in microseconds. */
export function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/** A process's resident memory now and at its peak, in MB. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}
