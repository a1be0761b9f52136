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

/** Routes by path, then by method: no string is built to look one up. */
const EXACT = new Map<string, Readonly<Record<string, ApiRoute>>>([
  ["/v1/chat/completions", { POST: post(chatCompletions) }],
  ["/v1/completions", { POST: post(completions) }],
  ["/v1/embeddings", { POST: post(embeddings) }],
  ["/v1/responses", { POST: post(responses) }],
  ["/v1/models", { GET: get(listModels) }],
  ["/v1/dashboard/billing/subscription", { GET: get(subscription) }],
  ["/v1/dashboard/billing/usage", { GET: get(usage) }],
  ["/dashboard/billing/subscription", { GET: get(subscription) }],
  ["/dashboard/billing/usage", { GET: get(usage) }],
]);
const RETRIEVE_MODEL = get(retrieveModel);

/** The API route for a method and path, or undefined (answered 404 `Invalid URL`). */
export function matchApiRoute(method: string, path: string): ApiRoute | undefined {
  const byMethod = EXACT.get(path);
  if (byMethod !== undefined) return Object.hasOwn(byMethod, method) ? byMethod[method] : undefined;
  if (method === "GET" && path.startsWith("/v1/models/") && path.length > "/v1/models/".length) return RETRIEVE_MODEL;
  return undefined;
}
