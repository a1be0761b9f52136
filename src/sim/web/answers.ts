import type { IncomingMessage } from "node:http";
import type { SimAnswer } from "../openai/errors.ts";
import { getCookie } from "../http/respond.ts";
import type { SessionState } from "./session-state.ts";

/** Cloudflare's managed challenge, as ChatGPT answered a client without a valid cf_clearance. */
const CHALLENGE_HTML = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow"><meta name="viewport" content="width=device-width,initial-scale=1"></head><body class="no-js"><div class="main-wrapper" role="main"><div class="main-content"><h1 class="zone-name-title h1">chat.openai.com</h1><h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2><noscript><div id="challenge-error-title"><div class="h2"><span class="icon-wrapper"><div class="heading-icon warning-icon"></div></span><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></div></noscript></div></div><script>(function(){window._cf_chl_opt={cvId: '2',cType: 'managed'};}());</script></body></html>`;

export const CHALLENGE: SimAnswer = {
  status: 403,
  body: CHALLENGE_HTML,
  contentType: "text/html; charset=UTF-8",
  headers: ["cf-mitigated", "challenge", "server", "cloudflare", "cache-control", "private, max-age=0, no-store, no-cache, must-revalidate"],
};

function detail(status: number, value: unknown): SimAnswer {
  return { status, body: JSON.stringify({ detail: value }) };
}

export const TOKEN_EXPIRED = detail(401, {
  message: "Your authentication token has expired. Please try signing in again.",
  type: "invalid_request_error",
  param: null,
  code: "token_expired",
});

export const INVALID_JWT = detail(401, {
  message: "Could not parse your authentication token. Please try signing in again.",
  type: "invalid_request_error",
  param: null,
  code: "invalid_jwt",
});

export const UNAUTHORIZED = detail(401, "Unauthorized");

export const ONE_AT_A_TIME = detail(
  429,
  "Only one message at a time. Please allow any other responses to complete before sending another message, or wait one minute.",
);

export const CONVERSATION_NOT_FOUND = detail(404, "Conversation not found");
export const NOT_FOUND = detail(404, "Not Found");

export function badRequest(message: string): SimAnswer {
  return detail(400, message);
}

export function messageNotFound(id: string): SimAnswer {
  return detail(404, `Parent message ${id} not found in this conversation`);
}

/** cf-required sessions pass only with the configured cf_clearance cookie and User-Agent. */
export function passesChallenge(req: IncomingMessage, session: SessionState): boolean {
  const b = session.behaviour;
  if (b.name !== "cf-required") return true;
  return getCookie(req.headers.cookie, "cf_clearance") === b.clearance && req.headers["user-agent"] === b.ua;
}
