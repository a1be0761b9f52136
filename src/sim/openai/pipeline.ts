import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { SimContext } from "../context.ts";
import { deliver, resetConnection, type DeliveryPlan } from "../delivery.ts";
import { requestId } from "../http/ids.ts";
import { bearer, BodyTooLargeError, readBody, type HeaderList } from "../http/respond.ts";
import type { KeyState } from "../keys/key-state.ts";
import type { RequestLogEntry } from "../request-log.ts";
import type { ApiResult } from "./api-types.ts";
import {
  BODY_TOO_LARGE,
  DEACTIVATED,
  INVALID_JSON,
  invalidKey,
  LEGACY_QUOTA,
  MISSING_KEY,
  ORGANIZATION,
  QUOTA,
  RESELLER_401_JSON,
  RESELLER_401_TEXT,
  serverFault,
  SERVER_ERROR,
  type SimAnswer,
} from "./errors.ts";
import { costUsd } from "./models.ts";
import type { ApiRoute } from "./routes.ts";

const DEFAULT_MODEL = "gpt-4o-mini";

/**
 * One OpenAI API call: authenticate the key, apply its behaviour in a fixed
 * order (definitive 401s, connection faults, latency, 5xx, quota), then the
 * route, then deliver the answer (slowed or cut when the behaviour says so).
 */
export async function handleApi(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: ApiRoute,
  path: string,
  query: URLSearchParams | null,
): Promise<void> {
  const started = Date.now();
  let text = "";
  if (route.hasBody) {
    try {
      text = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError) send(res, started, BODY_TOO_LARGE, null, null, null);
      return;
    }
  }
  let body: unknown = route.hasBody ? {} : null;
  let parsed = true;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      parsed = false;
      body = text;
    }
  }
  const key = bearer(req);
  const entry = ctx.log.add({ key: key ?? null, kind: "key", method: req.method!, path, body, time: started, status: null });
  if (key === undefined) return send(res, started, MISSING_KEY, null, entry, null);
  const state = ctx.keys.resolve(key);
  if (state === undefined) return send(res, started, invalidKey(key), null, entry, null);
  state.stats.requests += 1;

  const b = state.behaviour;
  switch (b.name) {
    case "invalid":
      return send(res, started, invalidKey(key), null, entry, state);
    case "deactivated":
      return send(res, started, DEACTIVATED, null, entry, state);
    case "reseller-401":
      return send(res, started, b.bareBody === "text" ? RESELLER_401_TEXT : RESELLER_401_JSON, null, entry, state);
    case "reset":
      if (b.cut.at === "request") {
        resetConnection(res);
        return record(entry, state, "reset");
      }
      break;
    case "hang":
      if (b.cut.at === "request") return record(entry, state, "hang");
      break;
    default:
      break;
  }
  if (b.ms > 0) {
    try {
      await sleep(b.ms, undefined, { signal: ctx.signal });
    } catch {
      return;
    }
  }
  const model = typeof body === "object" && body !== null && typeof (body as { model?: unknown }).model === "string"
    ? (body as { model: string }).model
    : DEFAULT_MODEL;
  if (b.name === "flaky") {
    const status = state.nextFault();
    if (status !== 0) return send(res, started, serverFault(status), state.limiter.headers(model, started), entry, state);
  }
  if (!parsed || (route.hasBody && (typeof body !== "object" || body === null || Array.isArray(body)))) {
    return send(res, started, INVALID_JSON, state.limiter.headers(model, started), entry, state);
  }
  if (route.charges && (b.name === "expired" || state.quotaReached)) {
    return send(res, started, b.name === "legacy-quota" ? LEGACY_QUOTA : QUOTA, state.limiter.headers(model, started), entry, state);
  }

  let result: ApiResult;
  try {
    result = await route.handler({ state, body: (body ?? {}) as Record<string, unknown>, query, path, now: Date.now() });
  } catch (err) {
    process.emitWarning(`keypool sim: ${path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return send(res, started, SERVER_ERROR, null, entry, state);
  }
  if (result.kind === "error") {
    return send(res, started, result.answer, result.answer.headers ?? state.limiter.headers(model, started), entry, state);
  }
  const headers = baseHeaders(started);
  const extra = result.headers ?? state.limiter.headers(model, started);
  for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
  if (result.usage !== null) {
    const u = result.usage;
    state.recordUsage(u.model.id, u.prompt, u.completion, costUsd(u.model, u.prompt, u.completion));
  }
  let pieces: readonly string[];
  if (result.kind === "json") {
    headers.push("content-type", "application/json");
    pieces = [result.body];
  } else {
    pieces = result.pieces;
  }
  const plan = planFor(state);
  if (result.kind === "json" && plan === null) headers.push("content-length", String(Buffer.byteLength(result.body)));
  const delivered = await deliver(res, 200, headers, pieces, plan, ctx.signal);
  if (delivered !== "aborted") record(entry, state, delivered);
}

function planFor(state: KeyState): DeliveryPlan | null {
  const b = state.behaviour;
  if ((b.name === "reset" || b.name === "hang") && b.cut.at !== "request") {
    return { chunkMs: b.chunkMs, cut: b.cut, action: b.name };
  }
  if (b.chunkMs > 0) return { chunkMs: b.chunkMs, cut: null, action: "reset" };
  return null;
}

function baseHeaders(started: number): HeaderList {
  return [
    "x-request-id",
    requestId(),
    "openai-organization",
    ORGANIZATION,
    "openai-version",
    "2020-10-01",
    "openai-processing-ms",
    String(Date.now() - started),
  ];
}

function record(entry: RequestLogEntry | null, state: KeyState | null, status: number | "reset" | "hang"): void {
  if (entry !== null) entry.status = status;
  state?.recordStatus(status);
}

function send(
  res: ServerResponse,
  started: number,
  answer: SimAnswer,
  extra: HeaderList | null,
  entry: RequestLogEntry | null,
  state: KeyState | null,
): void {
  const headers = baseHeaders(started);
  if (extra !== null) for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
  headers.push(
    "content-type",
    answer.contentType ?? "application/json",
    "content-length",
    String(Buffer.byteLength(answer.body)),
  );
  res.writeHead(answer.status, headers);
  res.end(answer.body);
  record(entry, state, answer.status);
}
