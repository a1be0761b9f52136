import { KeypoolError } from "../errors/keypool-error.ts";
import type { NoCandidate } from "./selection/candidate-index.ts";

/** No credential can take the request; the message says why (cooling until, all retired, model not served). */
export class NoCredentialError extends KeypoolError {
  readonly detail: NoCandidate;
  constructor(detail: NoCandidate, now: number = Date.now()) {
    const { code, status, message, headers } = describe(detail, now);
    super(code, message, { status, type: status === 404 ? "invalid_request_error" : "keypool_error", headers });
    this.name = "NoCredentialError";
    this.detail = detail;
  }
}

function describe(d: NoCandidate, now: number): { code: string; status: number; message: string; headers: Record<string, string> } {
  switch (d.reason) {
    case "empty":
      return { code: "KP_POOL_EMPTY", status: 503, message: "keypool: the pool has no credentials; add keys first", headers: {} };
    case "model_not_served":
      return { code: "KP_MODEL_NOT_SERVED", status: 404, message: `keypool: no credential in the pool serves model ${d.model}`, headers: {} };
    case "cooling": {
      const secs = Math.max(1, Math.ceil((d.until - now) / 1000));
      return {
        code: "KP_ALL_COOLING",
        status: 429,
        message: `keypool: every eligible credential is rate limited; the first comes back at ${new Date(d.until).toISOString()} (in ${secs}s)`,
        headers: { "retry-after": String(secs) },
      };
    }
    case "busy":
      return { code: "KP_ALL_BUSY", status: 429, message: "keypool: every eligible credential is at its in-flight limit", headers: { "retry-after": "1" } };
    case "unusable": {
      const parts = Object.entries(d.states).map(([state, n]) => `${n} ${state}`);
      return { code: "KP_NO_USABLE_CREDENTIAL", status: 503, message: `keypool: no usable credential (${parts.join(", ")})`, headers: {} };
    }
  }
}

/** The request ran out of its overall time budget before an answer. */
export class DeadlineError extends KeypoolError {
  constructor(ms: number, cause?: unknown) {
    super("KP_DEADLINE", `keypool: no answer within the request deadline of ${ms} ms`, { status: 504, type: "timeout", cause });
    this.name = "DeadlineError";
  }
}

/** Every attempt failed at the transport level (timeouts, resets) and no answer came back. */
export class UpstreamError extends KeypoolError {
  constructor(message: string, cause?: unknown) {
    super("KP_UPSTREAM", message, { status: 502, type: "upstream_error", cause });
    this.name = "UpstreamError";
  }
}
