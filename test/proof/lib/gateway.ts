/**
 * Gateways as the proof scenarios use them: `keypool serve` processes
 * (test/gateway/child.ts starts them), the official SDK pointed at them,
 * the admin API, and the audit events a gateway streams on `/admin/live`
 * (each one sent after the store took it: an acknowledgement).
 */
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { createParser } from "eventsource-parser";
import { spawn } from "node:child_process";
import { BIN, startServe, type RunResult, type ServeProcess } from "../../gateway/child.ts";
import type { AuditEvent } from "../../../src/pool/types.ts";
import type { LeakScan } from "./leaks.ts";

export interface Gw extends ServeProcess {
  name: string;
  pid: number;
  port: number;
  /** Spawn to "listening" (ms). */
  startMs: number;
}

/** A random secret of the given shape, so that a leak names its scenario. */
export const secretLike = (prefix: string, bytes = 18): string => `${prefix}${randomBytes(bytes).toString("hex")}`;

/** An upstream key the simulator will know: `sk-proof-<name>-<random>`. */
export const proofKey = (name: string): string => secretLike(`sk-proof-${name.replace(/[^a-z0-9]/gi, "")}-`, 12);

export const adminToken = (): string => secretLike("admin-proof-", 16);

export async function serve(name: string, args: string[], env: Record<string, string>): Promise<Gw> {
  const t0 = performance.now();
  const p = await startServe(args, env);
  return Object.assign(p, { name, pid: p.child.pid!, port: Number(new URL(p.url).port), startMs: performance.now() - t0 });
}

/** Runs the CLI once, killed after `timeoutMs` (a command that should fail but serves instead never hangs the suite). */
export function cli(args: string[], env: Record<string, string> = {}, stdin = "", timeoutMs = 15_000): Promise<RunResult & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const base = { ...process.env };
    for (const k of ["KEYPOOL_STORE", "KEYPOOL_UPSTREAM", "KEYPOOL_KEYS", "KEYPOOL_ADMIN_TOKEN", "KEYPOOL_SECRET_KEY", "KEYPOOL_REDIS_PREFIX", "PORT", "HOST"]) delete base[k];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => {}); // a child that exits before reading its input: EPIPE, its exit code tells
    child.stdin.end(stdin);
  });
}

/** Adds a gateway's stdout and stderr to the hunt. */
export function captureOutput(leaks: LeakScan, gw: Gw): void {
  leaks.add(`${gw.name} stdout`, gw.stdout());
  leaks.add(`${gw.name} stderr`, gw.stderr());
}

export function kill(gw: Gw, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
  if (gw.child.exitCode === null && gw.child.signalCode === null) gw.child.kill(signal);
  return gw.exited;
}

export function adminFetch(gw: { url: string }, token: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  return fetch(`${gw.url}${path}`, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(10_000) });
}

/** The admin API's JSON answer; throws with the body on an unexpected status. */
export async function adminJson<T>(gw: { url: string }, token: string, path: string, init: RequestInit = {}, ok: readonly number[] = [200, 201]): Promise<T> {
  const res = await adminFetch(gw, token, path, init);
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export function sdk(gw: { url: string }, token: string, timeoutMs = 15_000): OpenAI {
  return new OpenAI({ apiKey: token, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: timeoutMs });
}

/** Follows `/admin/live` and hands over each audit event; `close()` ends it. */
export function followEvents(gw: { url: string }, token: string, onEvent: (e: AuditEvent) => void): { ready: Promise<void>; close(): void } {
  const ac = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const parser = createParser({
    onEvent(ev) {
      if (ev.event === "stats") markReady();
      else if (ev.event === "event") onEvent(JSON.parse(ev.data) as AuditEvent);
    },
  });
  void (async () => {
    try {
      const res = await fetch(`${gw.url}/admin/live`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // the gateway went away, or close()
    }
  })();
  return { ready, close: () => ac.abort() };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `p` settled within `ms` (the timer is cleared either way: nothing left to keep the process up). */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` holds; returns the time it took (ms). */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
  return performance.now() - t0;
}

/** Status and OpenAI error code of whatever a client call threw. */
export function errorOf(err: unknown): { status: number; code: string | null; message: string } {
  const e = err as { status?: number; code?: string | null; message?: string; error?: { message?: string; code?: string } };
  return { status: e.status ?? 0, code: e.code ?? e.error?.code ?? null, message: e.error?.message ?? e.message ?? String(err) };
}
