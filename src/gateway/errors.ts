/**
 * The gateway's own refusals, each a KeypoolError with a stable code, so the
 * one converter (toErrorResponse) turns them into OpenAI-shaped answers.
 */
import { KeypoolError } from "../errors/index.ts";
import { scrubSecrets } from "../util/scrub.ts";

/** 401: no token, a wrong one, an expired or revoked one. */
export class AuthError extends KeypoolError {
  constructor(code: string, message: string) {
    super(code, message, { status: 401, type: "invalid_request_error" });
    this.name = "AuthError";
  }
}

/** 403: the caller is known but may not do this (a model outside its token's list, admin API off). */
export class ForbiddenError extends KeypoolError {
  constructor(code: string, message: string, param: string | null = null) {
    super(code, message, { status: 403, type: "permission_error", param });
    this.name = "ForbiddenError";
  }
}

/** 429 for a client token over its rate or quota. */
export class TokenLimitError extends KeypoolError {
  constructor(code: "KP_TOKEN_RATE_LIMITED" | "KP_TOKEN_QUOTA_EXCEEDED", message: string, retryAfterS?: number) {
    super(code, message, {
      status: 429,
      type: code === "KP_TOKEN_RATE_LIMITED" ? "rate_limit_exceeded" : "insufficient_quota",
      ...(retryAfterS === undefined ? {} : { headers: { "retry-after": String(retryAfterS) } }),
    });
    this.name = "TokenLimitError";
  }
}

/** 413: the request body is larger than the gateway accepts. */
export class PayloadTooLargeError extends KeypoolError {
  constructor(limit: number) {
    super("KP_BODY_TOO_LARGE", `request body larger than the gateway's limit of ${limit} bytes (set --max-body or KEYPOOL_MAX_BODY to change it)`, {
      status: 413,
      type: "invalid_request_error",
    });
    this.name = "PayloadTooLargeError";
  }
}

/** 404 for a path the gateway does not serve. */
export class RouteNotFoundError extends KeypoolError {
  constructor(method: string, path: string) {
    const shown = scrubSecrets(path.length > 200 ? `${path.slice(0, 200)}…` : path);
    super("KP_ROUTE_NOT_FOUND", `no route for ${method} ${shown}`, { status: 404, type: "invalid_request_error" });
    this.name = "RouteNotFoundError";
  }
}

/** 405 with the methods the route does take. */
export class MethodNotAllowedError extends KeypoolError {
  constructor(method: string, route: string, allowed: readonly string[]) {
    super("KP_METHOD_NOT_ALLOWED", `${method} is not allowed on ${scrubSecrets(route)} (allowed: ${allowed.join(", ")})`, {
      status: 405,
      type: "invalid_request_error",
      headers: { allow: allowed.join(", ") },
    });
    this.name = "MethodNotAllowedError";
  }
}
