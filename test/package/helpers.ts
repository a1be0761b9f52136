/** Child processes for the package and docs tests: run to the end, or start one that stays up until it prints a line. */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import { cp, mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the public contract's variables, plus `env`. */
export function cleanEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) {
    if (k.startsWith("KEYPOOL_") || k === "PORT" || k === "HOST" || k.startsWith("npm_")) delete base[k];
  }
  return { ...base, ...env };
}

export async function run(cmd: string, args: string[], opts: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { ...opts, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  // A child may exit before reading its input (a script stopping at its first failing command):
  // the write then fails with EPIPE, and the exit code and output are what the caller checks.
  child.stdin!.on("error", () => {});
  child.stdin!.end(opts.input ?? "");
  // Past the time limit: SIGTERM (a shell's traps stop what it started), SIGKILL 5 s later.
  const timer = setTimeout(() => {
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  }, opts.timeoutMs ?? 120_000);
  try {
    const [code] = (await once(child, "close")) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Fails with the command's output when it did not exit 0. */
export async function runOk(cmd: string, args: string[], opts: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

export interface Running {
  child: ChildProcess;
  /** The first match of the pattern that was waited for. */
  match: RegExpExecArray;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a process and resolves once its stdout or stderr matches `ready`. */
export function start(cmd: string, args: string[], ready: RegExp, opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let done = false;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const timer = setTimeout(() => fail(new Error(`${cmd} ${args.join(" ")} did not print ${ready} in time:\n${out}`)), opts.timeoutMs ?? 20_000);
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m === null || done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        child,
        match: m,
        output: () => out,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await exited;
        },
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", fail);
    child.once("exit", (code) => fail(new Error(`${cmd} ${args.join(" ")} exited ${code} before it was ready:\n${out}`)));
  });
}

/** A copy of the checkout's `files` in `stage`, with its node_modules linked: where a test may build, pack or rewrite without touching the checkout. */
export async function stageCheckout(stage: string, files: readonly string[]): Promise<void> {
  await mkdir(stage, { recursive: true });
  for (const f of files) await cp(join(ROOT, f), join(stage, f), { recursive: true });
  await symlink(join(ROOT, "node_modules"), join(stage, "node_modules"));
}
