/**
 * The `/v1/*` routes the gateway knows by name. Names are the metric labels
 * and log fields: a fixed set, never a path a client sent.
 */
export type ProxyRoute = "chat" | "completions" | "embeddings" | "responses" | "models" | "passthrough";

export interface RouteInfo {
  route: ProxyRoute;
  /** Body is a JSON object whose `model` and `stream` matter. */
  json: boolean;
  /** A stream of it can carry `stream_options.include_usage`. */
  usageOption: boolean;
}

const CHAT: RouteInfo = { route: "chat", json: true, usageOption: true };
const COMPLETIONS: RouteInfo = { route: "completions", json: true, usageOption: true };
const EMBEDDINGS: RouteInfo = { route: "embeddings", json: true, usageOption: false };
const RESPONSES: RouteInfo = { route: "responses", json: true, usageOption: false };
const MODELS: RouteInfo = { route: "models", json: false, usageOption: false };
const PASSTHROUGH: RouteInfo = { route: "passthrough", json: false, usageOption: false };

/** `path` is the URL path without its query, starting with `/v1/`. */
export function routeOf(method: string, path: string): RouteInfo {
  if (method === "POST") {
    switch (path) {
      case "/v1/chat/completions":
        return CHAT;
      case "/v1/completions":
        return COMPLETIONS;
      case "/v1/embeddings":
        return EMBEDDINGS;
      case "/v1/responses":
        return RESPONSES;
    }
  } else if (method === "GET" && (path === "/v1/models" || path === "/v1/models/")) return MODELS;
  return PASSTHROUGH;
}

/** Metric label of a route: `/v1/chat/completions` style, fixed set. */
export const ROUTE_LABEL: Record<ProxyRoute, string> = {
  chat: "/v1/chat/completions",
  completions: "/v1/completions",
  embeddings: "/v1/embeddings",
  responses: "/v1/responses",
  models: "/v1/models",
  passthrough: "/v1/*",
};
