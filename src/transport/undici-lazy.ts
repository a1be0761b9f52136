/**
 * undici, loaded on its first use. Only calls through a proxy (a credential's,
 * or HTTPS_PROXY's) and `KEYPOOL_UPSTREAM_CLIENT=undici` need it: direct calls
 * go through keypool's own HTTP/1.1 client. Loaded at start it held ~5 MB of
 * a gateway's heap that most never use.
 */
import { createRequire } from "node:module";
import type * as Undici from "undici";

let loaded: typeof Undici | null = null;

export function undici(): typeof Undici {
  return (loaded ??= createRequire(import.meta.url)("undici") as typeof Undici);
}

/** Whether undici has been loaded (tests: a direct gateway never loads it). */
export function undiciLoaded(): boolean {
  return loaded !== null;
}
