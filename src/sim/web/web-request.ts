import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimContext } from "../context.ts";
import { deliver, type DeliveryPlan } from "../delivery.ts";
import { setLogStatus, type LogRef } from "../request-log.ts";
import type { SessionState } from "./session-state.ts";

/** An authenticated `/backend-api/*` request. */
export interface WebRequest {
  readonly ctx: SimContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly query: URLSearchParams | null;
  readonly body: unknown;
  readonly session: SessionState;
  readonly entry: LogRef;
}

/** Streams SSE pieces for a session, with its slowness or its cut. */
export async function streamWeb(w: WebRequest, pieces: string[]): Promise<void> {
  const b = w.session.behaviour;
  let plan: DeliveryPlan | null = null;
  if (b.name === "reset" && b.cut.at !== "request") plan = { chunkMs: b.chunkMs, cut: b.cut, action: "reset" };
  else if (b.chunkMs > 0) plan = { chunkMs: b.chunkMs, cut: null, action: "reset" };
  const headers = ["content-type", "text/event-stream; charset=utf-8", "cache-control", "no-cache"];
  const delivered = await deliver(w.res, 200, headers, pieces, plan, w.ctx.signal);
  if (delivered !== "aborted") {
    setLogStatus(w.entry, delivered);
    w.session.recordStatus(delivered);
  }
}
