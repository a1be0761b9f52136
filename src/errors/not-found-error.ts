import { KeypoolError } from "./keypool-error.ts";

/** A named thing (credential, token, conversation, route) does not exist. */
export class NotFoundError extends KeypoolError {
  constructor(what: string, id: string) {
    super("KP_NOT_FOUND", `${what} not found: ${id}`, { status: 404, type: "invalid_request_error" });
    this.name = "NotFoundError";
  }
}
