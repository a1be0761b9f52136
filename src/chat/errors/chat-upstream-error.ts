import { KeypoolError } from "../../errors/keypool-error.ts";
import type { Outcome } from "../../pool/outcome.ts";

/** The backend answered with an error (or cut the reply short); `outcome` says how it was classified. */
export class ChatUpstreamError extends KeypoolError {
  readonly outcome: Outcome | null;
  constructor(message: string, outcome: Outcome | null, cause?: unknown) {
    const status = outcome?.status ?? 502;
    super("KP_CHAT_UPSTREAM", message, {
      status: status >= 400 && status < 600 ? status : 502,
      type: outcome?.type ?? "upstream_error",
      cause,
    });
    this.name = "ChatUpstreamError";
    this.outcome = outcome;
  }
}
