/**
 * The gateway's ServerResponse: carries what the request log and metrics
 * need, and the AbortController that a client's disconnect fires, as fields
 * instead of per-request closures.
 */
import { ServerResponse, type IncomingMessage } from "node:http";

function onClose(this: GatewayResponse): void {
  if (!this.writableFinished) this.abort?.abort(new Error("client disconnected"));
}

export class GatewayResponse extends ServerResponse<IncomingMessage> {
  /** Metric label of the route (a fixed set). */
  route = "other";
  credentialId: string | null = null;
  credentialState = "none";
  attempts = 0;
  tokenId: string | null = null;
  startedAt = 0;
  #abort: AbortController | null = null;

  get abort(): AbortController | null {
    return this.#abort;
  }

  /** The signal that fires when the client goes away before the answer is complete. */
  clientSignal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      this.once("close", onClose);
    }
    return this.#abort.signal;
  }
}
