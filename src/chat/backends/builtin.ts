/** The backends keypool ships, registered by name. Others can be registered the same way (`registerBackend`). */
import { backendNames, registerBackend } from "../backend.ts";
import { createApiBackend } from "./api/api-backend.ts";
import { createWebBackend } from "./web/web-backend.ts";

/** The backend a client uses when it names none. */
export const DEFAULT_BACKEND = "api";

/** Registers the shipped backends once (a user's own registration under the same name is kept). */
export function registerBuiltinBackends(): void {
  const known = new Set(backendNames());
  if (!known.has("api")) registerBackend("api", createApiBackend);
  if (!known.has("web")) registerBackend("web", (pool) => createWebBackend(pool));
}
