import type { ServerResponse } from "node:http";
import type { SimAnswer } from "../openai/errors.ts";
import { setLogStatus, type LogRef } from "../request-log.ts";
import type { SessionState } from "./session-state.ts";

/** Sends a web backend answer and records its status. */
export function sendWeb(
  res: ServerResponse,
  answer: SimAnswer,
  entry: LogRef,
  session: SessionState | undefined,
  extra: string[] = [],
): void {
  const headers = [...(answer.headers ?? []), ...extra];
  headers.push("content-type", answer.contentType ?? "application/json", "content-length", String(Buffer.byteLength(answer.body)));
  res.writeHead(answer.status, headers);
  res.end(answer.body);
  setLogStatus(entry, answer.status);
  session?.recordStatus(answer.status);
}
