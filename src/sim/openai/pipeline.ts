import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimContext } from "../context.ts";
import { deliver, resetConnection, type Delivered, type DeliveryPlan } from "../delivery.ts";
import { requestId } from "../http/ids.ts";
import { parseJsonBytes } from "../http/json-cache.ts";
import { bearer, collectBody, type HeaderList } from "../http/respond.ts";
import type { KeyState } from "../keys/key-state.ts";
import type { ApiRequest, ApiResult } from "./api-types.ts";
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

/** One API call in flight. */
interface Call {
  readonly ctx: SimContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: ApiRoute;
  readonly path: string;
  readonly query: URLSearchParams | null;
  readonly started: number;
  /** Its request-log sequence number (0: not logged yet). */
  seq: number;
  state: KeyState | null;
}

/**
 * One OpenAI API call: authenticate the key, apply its behaviour in a fixed
 * order (definitive 401s, connection faults, latency, 5xx, quota), then the
 * route, then deliver the answer (slowed or cut when the behaviour says so).
 * Synchronous from the body's last byte to the answer unless a behaviour
 * waits: no promise on the hot path.
 */
export function handleApi(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: ApiRoute,
  path: string,
  query: URLSearchParams | null,
): void {
  const call: Call = { ctx, req, res, route, path, query, started: Date.now(), seq: 0, state: null };
  if (!route.hasBody) return authenticate(call, null);
  collectBody(req, (bytes) => {
    if (bytes === null) {
      if (!res.headersSent && !res.destroyed) send(call, BODY_TOO_LARGE, null);
      return;
    }
    authenticate(call, bytes);
  });
}

function authenticate(call: Call, bytes: Buffer | null): void {
  const { ctx, req, res } = call;
  let body: unknown = call.route.hasBody ? {} : null;
  let parsed = true;
  if (bytes !== null && bytes.length > 0) {
    try {
      body = parseJsonBytes(bytes);
    } catch {
      parsed = false;
      body = bytes.toString("utf8");
    }
  }
  const key = bearer(req);
  call.seq = ctx.log.add(key ?? null, "key", req.method!, call.path, body, call.started);
  if (key === undefined) return send(call, MISSING_KEY, null);
  const state = ctx.keys.resolve(key);
  if (state === undefined) return send(call, invalidKey(key), null);
  call.state = state;
  state.stats.requests += 1;

  const b = state.behaviour;
  switch (b.name) {
    case "invalid":
      return send(call, invalidKey(key), null);
    case "deactivated":
      return send(call, DEACTIVATED, null);
    case "reseller-401":
      return send(call, b.bareBody === "text" ? RESELLER_401_TEXT : RESELLER_401_JSON, null);
    case "reset":
      if (b.cut.at === "request") {
        resetConnection(res);
        return record(call, "reset");
      }
      break;
    case "hang":
      if (b.cut.at === "request") return record(call, "hang");
      break;
    default:
      break;
  }
  if (b.ms > 0) {
    const timer = setTimeout(() => {
      ctx.signal.removeEventListener("abort", cancel);
      admitCall(call, state, body, parsed);
    }, b.ms);
    const cancel = (): void => clearTimeout(timer);
    ctx.signal.addEventListener("abort", cancel, { once: true });
    return;
  }
  admitCall(call, state, body, parsed);
}

function admitCall(call: Call, state: KeyState, body: unknown, parsed: boolean): void {
  const b = state.behaviour;
  const headers = baseHeaders(call.started);
  const model =
    typeof body === "object" && body !== null && typeof (body as { model?: unknown }).model === "string"
      ? (body as { model: string }).model
      : DEFAULT_MODEL;
  let refusal: SimAnswer | null = null;
  if (b.name === "flaky") {
    const status = state.nextFault();
    if (status !== 0) refusal = serverFault(status);
  }
  if (refusal === null && (!parsed || (call.route.hasBody && (typeof body !== "object" || body === null || Array.isArray(body))))) {
    refusal = INVALID_JSON;
  }
  if (refusal === null && call.route.charges && (b.name === "expired" || state.quotaReached)) {
    refusal = b.name === "legacy-quota" ? LEGACY_QUOTA : QUOTA;
  }
  if (refusal !== null) {
    state.limiter.headers(model, call.started, headers);
    return send(call, refusal, headers);
  }
  const request: ApiRequest = {
    state,
    body: (body ?? {}) as Record<string, unknown>,
    query: call.query,
    path: call.path,
    now: Date.now(),
    headers,
    rated: false,
    inPieces: planFor(state) !== null,
  };
  runHandler(call, state, request, model);
}

function runHandler(call: Call, state: KeyState, request: ApiRequest, model: string): void {
  let result: ApiResult;
  try {
    result = call.route.handler(request);
  } catch (err) {
    process.emitWarning(`keypool sim: ${call.path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return send(call, SERVER_ERROR, null);
  }
  if (result.kind === "retry") {
    result.ready.then(
      () => runHandler(call, state, request, model),
      () => send(call, SERVER_ERROR, null),
    );
    return;
  }
  const headers = request.headers;
  if (!request.rated) state.limiter.headers(model, call.started, headers);
  if (result.kind === "error") return send(call, result.answer, headers);
  respond(call, state, result, headers);
}

function respond(call: Call, state: KeyState, result: Extract<ApiResult, { kind: "json" | "stream" }>, headers: HeaderList): void {
  if (result.usage !== null) {
    const u = result.usage;
    state.recordUsage(u.model.id, u.prompt, u.completion, costUsd(u.model, u.prompt, u.completion));
  }
  const plan = planFor(state);
  const body = result.body;
  if (result.kind === "json") {
    headers.push("content-type", "application/json");
    if (plan === null) headers.push("content-length", String(typeof body === "string" ? Buffer.byteLength(body) : (body as Buffer).length));
  }
  const template = result.recycle;
  const onSent =
    template !== undefined && template !== null && plan === null && Buffer.isBuffer(body)
      ? () => template.release(body)
      : undefined;
  const delivered = deliver(call.res, 200, headers, body, plan, call.ctx.signal, onSent);
  if (typeof delivered === "object") delivered.then((d) => settle(call, d), () => undefined);
  else settle(call, delivered);
}

function settle(call: Call, delivered: Delivered): void {
  if (delivered !== "aborted") record(call, delivered);
}

function planFor(state: KeyState): DeliveryPlan | null {
  const b = state.behaviour;
  if ((b.name === "reset" || b.name === "hang") && b.cut.at !== "request") {
    return { chunkMs: b.chunkMs, cut: b.cut, action: b.name };
  }
  if (b.chunkMs > 0) return { chunkMs: b.chunkMs, cut: null, action: "reset" };
  return null;
}

/** Small `openai-processing-ms` values as text, made once. */
const MS_TEXT = Array.from({ length: 100 }, (_, i) => String(i));

function baseHeaders(started: number): HeaderList {
  const ms = Date.now() - started;
  return [
    "x-request-id",
    requestId(),
    "openai-organization",
    ORGANIZATION,
    "openai-version",
    "2020-10-01",
    "openai-processing-ms",
    ms < 100 ? MS_TEXT[ms]! : String(ms),
  ];
}

function record(call: Call, status: number | "reset" | "hang"): void {
  if (call.seq !== 0) call.ctx.log.setStatus(call.seq, status);
  call.state?.recordStatus(status);
}

/** Sends an error answer; `headers` are the ones gathered so far, or null for a bare set. */
function send(call: Call, answer: SimAnswer, headers: HeaderList | null): void {
  const list = headers ?? baseHeaders(call.started);
  list.push("content-type", answer.contentType ?? "application/json", "content-length", String(Buffer.byteLength(answer.body)));
  call.res.writeHead(answer.status, list);
  call.res.end(answer.body);
  record(call, answer.status);
}
