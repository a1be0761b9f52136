import { KeypoolError } from "./keypool-error.ts";

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { message: string; type: string; param: string | null; code: string } };
}

/**
 * The one place where an error becomes an OpenAI-shaped HTTP answer. Unknown
 * errors become a 500 without their message, which may hold anything.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (KeypoolError.is(err)) {
    return {
      status: err.status,
      headers: err.headers,
      body: { error: { message: err.message, type: err.type, param: err.param, code: err.code } },
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: { message: "internal error", type: "server_error", param: null, code: "KP_INTERNAL" } },
  };
}
