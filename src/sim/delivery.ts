import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { HeaderList } from "./http/respond.ts";
import type { Cut } from "./spec/cut.ts";

/** How an answer is cut short or slowed; `null` for a plain answer. */
export interface DeliveryPlan {
  /** Pause between body chunks. */
  readonly chunkMs: number;
  /** Where to stop; `request` cuts are handled before any answer exists. */
  readonly cut: Exclude<Cut, { at: "request" }> | null;
  /** What a cut does: drop the connection or keep it silent. */
  readonly action: "reset" | "hang";
}

export type Delivered = number | "reset" | "hang" | "aborted";

/**
 * An answer's body: whole (text or bytes), or its pieces (the SSE events of a
 * stream) when it is slowed or cut.
 */
export type Body = string | Buffer | readonly string[];

function wholeOf(body: Body): string | Buffer {
  if (typeof body === "string" || Buffer.isBuffer(body)) return body;
  const list = body as readonly string[];
  return list.length === 1 ? list[0]! : list.join("");
}

function piecesOf(body: Body): readonly string[] {
  if (typeof body === "string") return [body];
  if (Buffer.isBuffer(body)) return [body.toString()];
  return body as readonly string[];
}

/** Destroys the connection without an answer, as a dropped upstream does. */
export function resetConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  // An empty write calls back once everything written before it has left
  // (http corks the socket within a tick); then a TCP reset.
  socket.write(EMPTY, () => socket.resetAndDestroy());
}

const EMPTY = Buffer.alloc(0);

/**
 * Writes an answer: its pieces are the SSE events of a stream, or one JSON
 * body. Plain answers go out in one write; a plan adds pauses between pieces
 * or cuts the answer after its headers or after N pieces. Resolves with what
 * was delivered once the answer is done, cut or abandoned by the client.
 * `onSent` runs once a plain answer has been written out (the socket took all
 * of it), when its buffer may be reused.
 */
export function deliver(
  res: ServerResponse,
  status: number,
  headers: HeaderList,
  body: Body,
  plan: DeliveryPlan | null,
  signal: AbortSignal,
  onSent?: () => void,
): Delivered | Promise<Delivered> {
  if (plan === null || (plan.chunkMs === 0 && plan.cut === null)) {
    res.writeHead(status, headers);
    if (onSent === undefined) res.end(wholeOf(body));
    else res.end(wholeOf(body), onSent);
    return status;
  }
  return deliverPlanned(res, status, headers, piecesOf(body), plan, signal);
}

async function deliverPlanned(
  res: ServerResponse,
  status: number,
  headers: HeaderList,
  pieces: readonly string[],
  plan: DeliveryPlan,
  signal: AbortSignal,
): Promise<Delivered> {
  let parts = pieces;
  // A single JSON body is cut in its middle, so that a chunk cut always truncates it.
  if (parts.length === 1 && plan.cut?.at === "chunks") {
    const body = parts[0]!;
    parts = [body.slice(0, body.length >> 1), body.slice(body.length >> 1)];
  }
  const cutAt = plan.cut === null ? -1 : plan.cut.at === "headers" ? 0 : Math.min(plan.cut.n, parts.length - 1);
  res.writeHead(status, headers);
  try {
    for (let i = 0; i < parts.length; i++) {
      if (i === cutAt) return cut(res, plan.action);
      if (i > 0 && plan.chunkMs > 0) await sleep(plan.chunkMs, undefined, { signal });
      if (res.destroyed) return "aborted";
      res.write(parts[i]!);
    }
  } catch {
    return "aborted";
  }
  if (cutAt >= parts.length) return cut(res, plan.action);
  res.end();
  return status;
}

function cut(res: ServerResponse, action: "reset" | "hang"): Delivered {
  // Headers leave before the cut: the client sees an answer start, then nothing.
  res.flushHeaders();
  if (action === "reset") resetConnection(res);
  return action;
}
