/**
 * The web-session probe, registered with a pool's health checker. Kept apart
 * from the backend so that createPool can register it without loading the
 * chat client (tokenizers and all).
 */
import type { Pool } from "../../../pool/pool.ts";
import { DEFAULT_WEB_BASE_URL } from "./web-auth.ts";
import { webAccounts } from "./web-accounts.ts";
import { createWebProbe } from "./web-probe.ts";

export interface WebBackendOptions {
  /** Base URL of sessions without their own (default https://chatgpt.com; a reverse proxy's otherwise). */
  baseURL?: string;
}

/** Registers the web-session probe with the pool's health checker (createPool and the web backend do). */
export function registerWebProbe(pool: Pool, options: WebBackendOptions = {}): void {
  pool.health?.register("web", createWebProbe(webAccounts(pool, { baseURL: options.baseURL ?? DEFAULT_WEB_BASE_URL })));
}
