import { KeypoolError } from "./keypool-error.ts";

/** Input from a caller (HTTP body, CLI argument, import line) is invalid. */
export class ValidationError extends KeypoolError {
  constructor(message: string, param: string | null = null, cause?: unknown) {
    super("KP_INVALID_INPUT", message, { status: 400, type: "invalid_request_error", param, cause });
    this.name = "ValidationError";
  }
}
