/** `/admin/keys…`: list, add in bulk, show, patch, enable, disable, remove, probe. */
import type { IncomingMessage } from "node:http";
import { NotFoundError, ValidationError } from "../../errors/index.ts";
import type { ProbeResult } from "../../pool/health/checker.ts";
import type { CredentialPatch } from "../../store/types.ts";
import type { GatewayContext } from "../context.ts";
import { readBody } from "../http/body.ts";
import { sendJson } from "../http/respond.ts";
import type { GatewayResponse } from "../http/response.ts";
import { entriesFromItems, entriesFromText, importEntries, poolAdder } from "../keys-import.ts";
import { jsonBody, queryObject, validate } from "./input.ts";
import { addKeysBody, keysQuery, noteBody, patchKeyBody, probeBody } from "./schemas.ts";
import { adminKeyView, cleanProbe } from "./views.ts";

export function listKeys(ctx: GatewayContext, res: GatewayResponse, query: string): void {
  const q = validate(keysQuery, queryObject(query));
  let views = ctx.pool.list(q.state === undefined ? {} : { state: q.state });
  if (q.label !== undefined) {
    const needle = q.label.toLowerCase();
    views = views.filter((v) => v.label !== null && v.label.toLowerCase().includes(needle));
  }
  const total = views.length;
  const offset = q.offset ?? 0;
  const page = views.slice(offset, q.limit === undefined ? undefined : offset + q.limit);
  sendJson(res, 200, { data: page.map((v) => adminKeyView(v, ctx.pool)), total, offset });
}

/** JSON `{keys: [...]}` or `{text}`, or a text/plain body of lines: a result per line. */
export async function addKeys(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse): Promise<void> {
  const type = String(req.headers["content-type"] ?? "");
  let entries;
  if (type.startsWith("text/plain")) {
    entries = entriesFromText((await readBody(req, ctx.maxBodyBytes)).toString("utf8"));
  } else {
    const body = await jsonBody(req, ctx.maxBodyBytes, addKeysBody);
    entries = body.keys !== undefined ? entriesFromItems(body.keys) : entriesFromText(body.text ?? "");
  }
  if (entries.length === 0) throw new ValidationError("no keys in the request", "keys");
  const report = await importEntries(poolAdder(ctx.pool), entries);
  sendJson(res, report.added > 0 ? 201 : 200, report);
}

function mustGet(ctx: GatewayContext, id: string) {
  const v = ctx.pool.get(id);
  if (v === null) throw new NotFoundError("credential", id);
  return v;
}

export function getKey(ctx: GatewayContext, res: GatewayResponse, id: string): void {
  sendJson(res, 200, adminKeyView(mustGet(ctx, id), ctx.pool));
}

export async function patchKey(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, id: string): Promise<void> {
  const patch = await jsonBody(req, ctx.maxBodyBytes, patchKeyBody);
  const view = await ctx.pool.update(mustGet(ctx, id).id, patch as CredentialPatch, "updated through the admin API");
  sendJson(res, 200, adminKeyView(view, ctx.pool));
}

export async function switchKey(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, id: string, action: "enable" | "disable"): Promise<void> {
  const { note } = await jsonBody(req, 64 * 1024, noteBody);
  const key = mustGet(ctx, id).id;
  const view = action === "enable" ? await ctx.pool.enable(key, note) : await ctx.pool.disable(key, note ?? "disabled through the admin API");
  sendJson(res, 200, adminKeyView(view, ctx.pool));
}

export async function removeKey(ctx: GatewayContext, res: GatewayResponse, id: string): Promise<void> {
  const key = mustGet(ctx, id).id;
  const removed = await ctx.pool.remove([key], "removed through the admin API");
  sendJson(res, 200, { removed });
}

export async function probeKey(ctx: GatewayContext, res: GatewayResponse, id: string): Promise<void> {
  const [result] = await ctx.pool.probe(mustGet(ctx, id).id);
  sendJson(res, 200, result === undefined ? null : cleanProbe(result));
}

/**
 * Probes every key (or `ids`). Progress streams as NDJSON (`Accept:
 * application/x-ndjson`) or SSE (`text/event-stream`); otherwise one JSON answer at the end.
 */
export async function probeAll(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse): Promise<void> {
  const { ids } = await jsonBody(req, ctx.maxBodyBytes, probeBody);
  const resolved = ids?.map((id) => mustGet(ctx, id).id);
  const accept = String(req.headers.accept ?? "");
  const mode = accept.includes("application/x-ndjson") ? "ndjson" : accept.includes("text/event-stream") ? "sse" : "json";
  const write = (type: string, value: unknown): void => {
    if (res.destroyed) return;
    if (mode === "ndjson") res.write(`${JSON.stringify({ type, ...(value as object) })}\n`);
    else if (mode === "sse") res.write(`event: ${type}\ndata: ${JSON.stringify(value)}\n\n`);
  };
  if (mode !== "json") {
    res.writeHead(200, { "content-type": mode === "ndjson" ? "application/x-ndjson" : "text/event-stream", "cache-control": "no-store" });
    write("start", { total: resolved?.length ?? ctx.pool.list().filter((v) => v.state !== "retired" && v.state !== "disabled").length });
  }
  const onProgress = (done: number, total: number, result: ProbeResult): void => write("progress", { done, total, result: cleanProbe(result) });
  const results = await ctx.pool.probe({ ...(resolved === undefined ? {} : { ids: resolved }), onProgress });
  const summary = summarize(results);
  if (mode === "json") sendJson(res, 200, { ...summary, data: results.map(cleanProbe) });
  else {
    write("done", summary);
    res.end();
  }
}

function summarize(results: readonly ProbeResult[]): { probed: number; changed: number; after: Record<string, number> } {
  const after: Record<string, number> = {};
  let changed = 0;
  for (const r of results) {
    after[r.after] = (after[r.after] ?? 0) + 1;
    if (r.after !== r.before) changed++;
  }
  return { probed: results.length, changed, after };
}
