import type { IncomingMessage, ServerResponse } from "node:http";
import { toErrorResponse, ValidationError } from "../../errors/index.ts";
import { readBody, sendJson } from "../http/respond.ts";
import type { BehaviourSpec } from "../spec/key-behaviour.ts";
import type { SessionSpec } from "../spec/session-behaviour.ts";
import type { SimControl } from "./control.ts";

const INDEX = {
  object: "sim.index",
  note: "Local control routes of the keypool simulator; they take no authentication.",
  routes: [
    "GET /_sim/keys",
    "GET /_sim/keys/:key",
    "PUT /_sim/keys/:key {behaviour}",
    "POST /_sim/keys/:key/topup {usd}",
    "POST /_sim/keys/:key/spend {usd}",
    "GET /_sim/sessions",
    "GET /_sim/sessions/:token",
    "PUT /_sim/sessions/:token {behaviour}",
    "GET /_sim/requests?key=&limit=",
    "POST /_sim/reset",
  ],
};

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError("body: expected a JSON object", "body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("body: expected a JSON object", "body");
  }
  return value as Record<string, unknown>;
}

/** `{behaviour: "rate-limited:rpm=3"}` (flag form) or `{behaviour: "rate-limited", rpm: 3}` (object form). */
function behaviourOf(body: Record<string, unknown>): string | BehaviourSpec & SessionSpec {
  if (body.behaviour === undefined) throw new ValidationError("behaviour: missing", "behaviour");
  const keys = Object.keys(body);
  // Validated by the behaviour parser, which names any bad field.
  return keys.length === 1 && typeof body.behaviour === "string" ? body.behaviour : (body as unknown as BehaviourSpec & SessionSpec);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError(`bad percent-encoding in ${segment}`, "path");
  }
}

function parseLimit(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ValidationError(`limit: must be a positive integer, got "${value}"`, "limit");
  return n;
}

async function route(control: SimControl, req: IncomingMessage, path: string, query: URLSearchParams | null): Promise<unknown> {
  const method = req.method;
  const parts = path.split("/").slice(2); // ["keys", ":key", "topup"]
  const [section, rawName, action] = parts;
  if (parts.length === 0 || section === "") return INDEX;
  if (section === "reset" && parts.length === 1 && method === "POST") {
    control.reset();
    return { ok: true };
  }
  if (section === "requests" && parts.length === 1 && method === "GET") {
    const key = query?.get("key") ?? undefined;
    return { object: "list", data: control.requests(key === "" ? undefined : key, parseLimit(query?.get("limit"))) };
  }
  if (section === "keys") {
    if (rawName === undefined || rawName === "") {
      if (method === "GET") return { object: "list", data: control.keys() };
    } else {
      const name = decode(rawName);
      if (action === undefined) {
        if (method === "GET") return control.key(name);
        if (method === "PUT") return control.setKey(name, behaviourOf(await jsonBody(req)));
      } else if (parts.length === 3 && method === "POST" && (action === "topup" || action === "spend")) {
        const usd = (await jsonBody(req)).usd as number;
        return action === "topup" ? control.topUp(name, usd) : control.spend(name, usd);
      }
    }
  }
  if (section === "sessions") {
    if (rawName === undefined || rawName === "") {
      if (method === "GET") return { object: "list", data: control.sessions() };
    } else if (action === undefined) {
      const name = decode(rawName);
      if (method === "GET") return control.session(name);
      if (method === "PUT") return control.setSession(name, behaviourOf(await jsonBody(req)));
    }
  }
  return undefined;
}

/** `/_sim/*`: JSON in, JSON out, errors in the OpenAI error shape. */
export async function handleControl(
  control: SimControl,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams | null,
): Promise<void> {
  try {
    const result = await route(control, req, path, query);
    if (result === undefined) {
      const body = { error: { message: `no control route ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "not_found" } };
      return sendJson(res, 404, JSON.stringify(body));
    }
    sendJson(res, 200, JSON.stringify(result));
  } catch (err) {
    const answer = toErrorResponse(err);
    sendJson(res, answer.status, JSON.stringify(answer.body));
  }
}
