/** Runs the CLI (`bin/keypool.ts`) as a child process: one-off commands, or a `serve` that stays up. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/keypool.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment for a child: ours without the contract's variables (each test sets its own). */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const k of ["KEYPOOL_STORE", "KEYPOOL_UPSTREAM", "KEYPOOL_KEYS", "KEYPOOL_ADMIN_TOKEN", "KEYPOOL_SECRET_KEY", "KEYPOOL_REDIS_PREFIX", "KEYPOOL_BUSY_POLL_US", "PORT", "HOST"]) delete base[k];
  return { ...base, ...env };
}

export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {}); // a child that exits before reading its input: EPIPE, its exit code tells
    child.stdin.end(stdin ?? "");
  });
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts `keypool serve --port 0 ...` and waits for the address it prints; `readLogs: false` leaves its stdout unread. */
export function startServe(args: string[], env: Record<string, string>, opts: { readLogs?: boolean } = {}): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], { cwd: ROOT, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not start:\n${stderr}`));
    }, 15_000);
    if (opts.readLogs === false) child.stdout!.pause();
    else child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m !== null) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1]!,
          stdout: () => stdout,
          stderr: () => stderr,
          exited,
          async stop() {
            if (child.exitCode === null) child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${stderr}`));
    });
  });
}
