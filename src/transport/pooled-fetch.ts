/**
 * `pool.fetch`: a drop-in `fetch` for the official SDK and anything else that
 * takes one. The caller's URL is reduced to its API path; the pool chooses
 * the credential and the upstream. keypool's own refusals (no usable key, all
 * cooling) come back as OpenAI-shaped error responses, so SDKs raise their
 * usual typed errors; the caller's abort rejects, as fetch does.
 */
import { Readable } from "node:stream";
import { KeypoolError } from "../errors/keypool-error.ts";
import { toErrorResponse } from "../errors/to-response.ts";
import type { Pool } from "../pool/pool.ts";
import { dispatch, type Dispatched } from "./dispatch.ts";
import type { Dispatchers } from "./dispatchers.ts";
import { apiPath } from "./upstream-url.ts";

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The request's `model`, read from a JSON body without trusting its shape. */
export function modelOf(body: Buffer | null): string | null {
  if (body === null || body.length === 0 || body.length > 32 * 1024 * 1024) return null;
  // Cheap pre-check: most bodies that name a model say so early.
  if (!body.includes('"model"')) return null;
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { model?: unknown };
    return typeof parsed.model === "string" && parsed.model !== "" ? parsed.model : null;
  } catch {
    return null;
  }
}

function toHeaders(h: Dispatched["headers"]): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k === "content-length" || k === "transfer-encoding" || k === "connection") continue;
    if (Array.isArray(v)) for (const item of v) out.append(k, item);
    else out.set(k, v);
  }
  return out;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

export function createPooledFetch(pool: Pool, dispatchers: Dispatchers): FetchLike {
  return async function pooledFetch(input, init) {
    const request = new Request(input, init);
    const body = request.body === null ? null : Buffer.from(await request.arrayBuffer());
    try {
      const d = await dispatch(pool, dispatchers, {
        method: request.method,
        path: apiPath(new URL(request.url), pool.config.upstream),
        headers: request.headers.entries(),
        body,
        model: modelOf(body),
        signal: request.signal,
      });
      // A body that came whole (or an error's, buffered) is handed over as bytes: no stream to convert.
      const bytes = d.whole ?? (Buffer.isBuffer(d.body) ? d.body : null);
      const payload = NULL_BODY.has(d.status) ? null : bytes !== null ? new Uint8Array(bytes) : (Readable.toWeb(d.body as Readable) as ReadableStream<Uint8Array>);
      return new Response(payload, { status: d.status, headers: toHeaders(d.headers) });
    } catch (err) {
      if (!KeypoolError.is(err)) throw err;
      const r = toErrorResponse(err);
      return new Response(JSON.stringify(r.body), { status: r.status, headers: { "content-type": "application/json", ...r.headers } });
    }
  };
}
