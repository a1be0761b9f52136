/**
 * What the gateway must know of a request body, and no more: its `model`,
 * whether it streams, and whether the client asked for the usage chunk.
 * A streamed chat or completions request is made to ask the upstream for
 * usage (so it is metered) by splicing `stream_options` into the bytes,
 * without re-serialising the body; only a body that already has
 * `stream_options` (null, or without `include_usage`) is re-serialised.
 */
import { isUtf8 } from "node:buffer";
import { ValidationError } from "../../errors/index.ts";
import type { RouteInfo } from "./routes.ts";

export interface Prepared {
  body: Buffer | null;
  model: string | null;
  stream: boolean;
  /** keypool added `include_usage`: the usage chunk is not the client's. */
  stripUsage: boolean;
  /**
   * The client's body as sent, on a JSON route (null elsewhere): parsed again only if an answer
   * carries no usage and must be estimated. Keeping the parsed tree for the whole request instead
   * had every in-flight prompt (a long conversation: thousands of objects) survive young-generation
   * collections and be promoted to the old one, for an estimate almost never made.
   */
  original: Buffer | null;
}

/** The request body of a JSON route, parsed again (it parsed once in prepareJson, so it parses). */
export function requestJson(p: Prepared): Record<string, unknown> {
  return JSON.parse(p.original!.toString("utf8")) as Record<string, unknown>;
}

const SPLICE = Buffer.from('"stream_options":{"include_usage":true},');

export function prepareJson(route: RouteInfo, body: Buffer): Prepared {
  if (body.length === 0) throw new ValidationError("request body is empty: send a JSON object", null);
  // Decoding would turn bad bytes into U+FFFD and the bytes would still go upstream as sent.
  if (!isUtf8(body)) throw new ValidationError("request body is not valid UTF-8 (JSON must be UTF-8 encoded)", null);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new ValidationError(`request body is not valid JSON (${(err as Error).message})`, null);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ValidationError("request body must be a JSON object", null);
  const o = parsed as Record<string, unknown>;
  const model = o.model;
  if (model !== undefined && typeof model !== "string") throw new ValidationError(`model must be a string, got ${typeName(model)}`, "model");
  const stream = o.stream;
  if (stream !== undefined && stream !== null && typeof stream !== "boolean") throw new ValidationError(`stream must be a boolean, got ${typeName(stream)}`, "stream");
  const out: Prepared = { body, model: model === undefined || model === "" ? null : model, stream: stream === true, stripUsage: false, original: body };
  if (!out.stream || !route.usageOption) return out;
  const so = o.stream_options;
  if (so === undefined) {
    out.body = spliceFirstKey(body, SPLICE);
    out.stripUsage = true;
  } else if (so !== null && (typeof so !== "object" || Array.isArray(so))) {
    throw new ValidationError(`stream_options must be an object, got ${typeName(so)}`, "stream_options");
  } else if (so === null || (so as Record<string, unknown>).include_usage !== true) {
    // Re-serialised, never spliced: the client's own `stream_options` (null included) comes later in
    // the bytes, and the upstream takes the last of two keys, so a splice would go unread.
    o.stream_options = { ...so, include_usage: true };
    out.body = Buffer.from(JSON.stringify(o));
    out.stripUsage = true;
  }
  return out;
}

/** Inserts `insert` right after the body's opening brace. The body is a non-empty JSON object. */
function spliceFirstKey(body: Buffer, insert: Buffer): Buffer {
  const brace = body.indexOf(0x7b); // `{`: only whitespace can precede it in a JSON object
  const out = Buffer.allocUnsafe(body.length + insert.length);
  body.copy(out, 0, 0, brace + 1);
  insert.copy(out, brace + 1);
  body.copy(out, brace + 1 + insert.length, brace + 1);
  return out;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
