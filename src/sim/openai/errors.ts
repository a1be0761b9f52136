import type { HeaderList } from "../http/respond.ts";
import { formatDuration } from "../http/duration.ts";

/** An answer that is not a success: status, body (already serialised) and extra headers. */
export interface SimAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
  readonly headers?: HeaderList;
}

export const ORGANIZATION = "org-sim";

export function errorBody(message: string, type: string, param: string | null, code: string | number | null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

function answer(status: number, message: string, type: string, param: string | null, code: string | number | null): SimAnswer {
  return { status, body: errorBody(message, type, param, code) };
}

const QUOTA_MESSAGE =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.";

/** `sk-abc***wxyz`: OpenAI shows the first six and last four characters. */
export function maskForMessage(key: string): string {
  if (key.length < 12) return "*".repeat(Math.max(3, key.length));
  return `${key.slice(0, 6)}${"*".repeat(Math.max(3, key.length - 10))}${key.slice(-4)}`;
}

export const MISSING_KEY = answer(
  401,
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
  "invalid_request_error",
  null,
  null,
);

export function invalidKey(key: string): SimAnswer {
  return answer(
    401,
    `Incorrect API key provided: ${maskForMessage(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    "invalid_request_error",
    null,
    "invalid_api_key",
  );
}

export const DEACTIVATED = answer(
  401,
  "This key is associated with a deactivated account. If you feel this is an error, contact us through our help center at help.openai.com.",
  "invalid_request_error",
  null,
  "account_deactivated",
);

export const RESELLER_401_JSON: SimAnswer = { status: 401, body: '{"error":{"message":"Unauthorized"}}' };
export const RESELLER_401_TEXT: SimAnswer = { status: 401, body: "Unauthorized", contentType: "text/plain; charset=utf-8" };

export const QUOTA = answer(429, QUOTA_MESSAGE, "insufficient_quota", null, "insufficient_quota");
export const LEGACY_QUOTA = answer(429, QUOTA_MESSAGE, "insufficient_quota", null, null);

export const SERVER_ERROR = answer(
  500,
  "The server had an error while processing your request. Sorry about that!",
  "server_error",
  null,
  null,
);
export const BAD_GATEWAY = answer(502, "Bad gateway.", "cf_bad_gateway", null, 502);
export const OVERLOADED = answer(
  503,
  "The engine is currently overloaded, please try again later.",
  "server_error",
  null,
  null,
);

export function serverFault(status: number): SimAnswer {
  return status === 502 ? BAD_GATEWAY : status === 503 ? OVERLOADED : SERVER_ERROR;
}

export function rateLimited(
  model: string,
  kind: "requests" | "tokens",
  limit: number,
  used: number,
  requested: number,
  retryMs: number,
): SimAnswer {
  const unit = kind === "requests" ? "requests per min (RPM)" : "tokens per min (TPM)";
  return answer(
    429,
    `Rate limit reached for ${model} in organization ${ORGANIZATION} on ${unit}: Limit ${limit}, Used ${used}, Requested ${requested}. Please try again in ${formatDuration(retryMs)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    kind,
    null,
    "rate_limit_exceeded",
  );
}

export function requestTooLarge(model: string, limit: number, requested: number): SimAnswer {
  return answer(
    429,
    `Request too large for ${model} in organization ${ORGANIZATION} on tokens per min (TPM): Limit ${limit}, Requested ${requested}. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    "tokens",
    null,
    "rate_limit_exceeded",
  );
}

export const INVALID_JSON = answer(
  400,
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
  "invalid_request_error",
  null,
  null,
);

export const BODY_TOO_LARGE = answer(413, "Request body too large.", "invalid_request_error", null, null);

export function missingParam(param: string): SimAnswer {
  return answer(400, `Missing required parameter: '${param}'.`, "invalid_request_error", param, "missing_required_parameter");
}

export function invalidType(param: string, expected: string, value: unknown): SimAnswer {
  const got = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
  return answer(
    400,
    `Invalid type for '${param}': expected ${expected}, but got ${got} instead.`,
    "invalid_request_error",
    param,
    "invalid_type",
  );
}

export function invalidValue(param: string, message: string): SimAnswer {
  return answer(400, message, "invalid_request_error", param, "invalid_value");
}

export function emptyArray(param: string): SimAnswer {
  return answer(
    400,
    `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
    "invalid_request_error",
    param,
    "empty_array",
  );
}

export function contextLength(limit: number, prompt: number, completion: number | null, param: string): SimAnswer {
  const message =
    completion === null
      ? `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${prompt} tokens. Please reduce the length of the messages.`
      : `This model's maximum context length is ${limit} tokens. However, you requested ${prompt + completion} tokens (${prompt} in the messages, ${completion} in the completion). Please reduce the length of the messages or completion.`;
  return answer(400, message, "invalid_request_error", param, "context_length_exceeded");
}

export function modelNotFound(model: string): SimAnswer {
  return answer(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    "invalid_request_error",
    null,
    "model_not_found",
  );
}

export function wrongEndpoint(message: string): SimAnswer {
  return answer(404, message, "invalid_request_error", "model", null);
}

export function invalidUrl(method: string, path: string): SimAnswer {
  return answer(404, `Invalid URL (${method} ${path})`, "invalid_request_error", null, null);
}
