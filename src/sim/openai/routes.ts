import type { ApiHandler } from "./api-types.ts";
import { subscription, usage } from "./billing.ts";
import { chatCompletions } from "./chat.ts";
import { completions } from "./completions.ts";
import { embeddings } from "./embeddings.ts";
import { listModels, retrieveModel } from "./models-route.ts";
import { responses } from "./responses.ts";

export interface ApiRoute {
  readonly handler: ApiHandler;
  /** POST routes read a JSON body. */
  readonly hasBody: boolean;
  /** Spends quota: refused with 429 insufficient_quota when the key has none. */
  readonly charges: boolean;
}

const post = (handler: ApiHandler): ApiRoute => ({ handler, hasBody: true, charges: true });
const get = (handler: ApiHandler): ApiRoute => ({ handler, hasBody: false, charges: false });

const EXACT = new Map<string, ApiRoute>([
  ["POST /v1/chat/completions", post(chatCompletions)],
  ["POST /v1/completions", post(completions)],
  ["POST /v1/embeddings", post(embeddings)],
  ["POST /v1/responses", post(responses)],
  ["GET /v1/models", get(listModels)],
  ["GET /v1/dashboard/billing/subscription", get(subscription)],
  ["GET /v1/dashboard/billing/usage", get(usage)],
  ["GET /dashboard/billing/subscription", get(subscription)],
  ["GET /dashboard/billing/usage", get(usage)],
]);
const RETRIEVE_MODEL = get(retrieveModel);

/** The API route for a method and path, or undefined (answered 404 `Invalid URL`). */
export function matchApiRoute(method: string, path: string): ApiRoute | undefined {
  const exact = EXACT.get(`${method} ${path}`);
  if (exact) return exact;
  if (method === "GET" && path.startsWith("/v1/models/") && path.length > "/v1/models/".length) return RETRIEVE_MODEL;
  return undefined;
}
