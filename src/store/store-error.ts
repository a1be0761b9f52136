import { KeypoolError } from "../errors/keypool-error.ts";

/** The store could not be reached or refused an operation. */
export class StoreError extends KeypoolError {
  constructor(message: string, cause?: unknown) {
    super("KP_STORE", message, { status: 503, type: "server_error", cause });
    this.name = "StoreError";
  }
}
