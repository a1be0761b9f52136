/**
 * One message to one web account, inside its queue: get the access token,
 * POST the message, read the streamed reply. A 401 (`token_expired`) gets one
 * refresh and one retry; a 429 "Only one message at a time" (another process
 * on the same account) waits and retries a few times.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { classify, type Outcome } from "../../../pool/outcome.ts";
import { failureOf, headerGetter, parseMaybeJson, readBounded, TransportFailureError } from "../../../transport/send.ts";
import { isCollision } from "./web-auth.ts";
import type { WebAccounts } from "./web-accounts.ts";
import { readWebReply, WebStreamError, type WebReply } from "./web-stream.ts";

export interface ExchangeInput {
  credentialId: string;
  body: Buffer;
  signal: AbortSignal;
  onDelta(delta: string): void;
}

export type ExchangeResult =
  | { ok: true; reply: WebReply }
  | { ok: false; outcome: Outcome; what: string; /** Text was already handed to the caller. */ started: boolean };

const MAX_COLLISION_RETRIES = 4;

export async function exchange(accounts: WebAccounts, input: ExchangeInput): Promise<ExchangeResult> {
  const { credentialId: id, signal } = input;
  const fail = (outcome: Outcome, what: string, started = false): ExchangeResult => ({ ok: false, outcome, what, started });
  let refreshed = false;
  let collisions = 0;
  let auth = await accounts.accessToken(id, signal);
  for (;;) {
    if ("outcome" in auth) return fail(auth.outcome, "getting an access token from /api/auth/session");
    let answer;
    try {
      answer = await accounts.send(accounts.record(id), {
        method: "POST",
        path: "/backend-api/conversation",
        headers: { authorization: `Bearer ${auth.token}`, accept: "text/event-stream", "content-type": "application/json" },
        body: input.body,
        signal,
      });
    } catch (err) {
      if (err instanceof TransportFailureError) return fail(classify({ transport: err.failure }), "sending the message");
      throw err;
    }
    if (answer.status >= 200 && answer.status < 300) {
      let started = false;
      try {
        const reply = await readWebReply(answer.body, (delta) => {
          started = true;
          input.onDelta(delta);
        });
        return { ok: true, reply };
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof WebStreamError) return fail(classify({ status: 502, body: err.message }), "reading the reply", started);
        return fail(classify({ transport: failureOf(err) ?? "reset" }), "reading the reply (the stream was cut)", started);
      }
    }
    const outcome = classify({ status: answer.status, headers: headerGetter(answer.headers), body: parseMaybeJson(await readBounded(answer.body)) });
    if (answer.status === 401 && !refreshed) {
      // token_expired (or a token the backend no longer takes): refresh once, retry once.
      refreshed = true;
      auth = await accounts.accessToken(id, signal, true);
      continue;
    }
    if (isCollision(outcome) && collisions < MAX_COLLISION_RETRIES) {
      collisions++;
      await sleep(500 * 2 ** (collisions - 1), undefined, { signal });
      continue;
    }
    return fail(outcome, "sending the message");
  }
}
