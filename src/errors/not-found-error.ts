import { maskSecret } from "../util/mask.ts";
import { KeypoolError } from "./keypool-error.ts";

/** A credential may be named by its key (the admin API and the CLI take either): a key is never echoed whole. */
const shown = (what: string, id: string): string => (what === "credential" && !id.startsWith("key_") ? maskSecret(id) : id);

/** A named thing (credential, token, conversation, route) does not exist. */
export class NotFoundError extends KeypoolError {
  constructor(what: string, id: string) {
    super("KP_NOT_FOUND", `${what} not found: ${shown(what, id)}`, { status: 404, type: "invalid_request_error" });
    this.name = "NotFoundError";
  }
}
