import type { Body } from "../delivery.ts";
import type { BodyTemplate } from "./template.ts";
import type { HeaderList } from "../http/respond.ts";
import type { KeyState } from "../keys/key-state.ts";
import type { SimAnswer } from "./errors.ts";
import type { ModelInfo } from "./models.ts";

/** An authenticated API request, its JSON body already parsed. */
export interface ApiRequest {
  readonly state: KeyState;
  readonly body: Record<string, unknown>;
  readonly query: URLSearchParams | null;
  readonly path: string;
  readonly now: number;
  /** The answer's headers so far; handlers add theirs (rate limits, SSE). */
  readonly headers: HeaderList;
  /** Set once the rate-limit headers are in `headers`. */
  rated: boolean;
  /** The answer will be slowed or cut: streams should come as pieces, not whole. */
  readonly inPieces: boolean;
}

export interface Usage {
  readonly model: ModelInfo;
  readonly prompt: number;
  readonly completion: number;
}

export type ApiResult =
  | { readonly kind: "error"; readonly answer: SimAnswer }
  | { readonly kind: "json"; readonly body: string | Buffer; readonly usage: Usage | null; readonly recycle?: BodyTemplate | null }
  | { readonly kind: "stream"; readonly body: Body; readonly usage: Usage; readonly recycle?: BodyTemplate | null }
  /** The model's tokenizer is loading: run the handler again once `ready` settles. */
  | { readonly kind: "retry"; readonly ready: Promise<unknown> };

/** Synchronous on the hot path: no promise unless a tokenizer must load first. */
export type ApiHandler = (r: ApiRequest) => ApiResult;

export function fail(answer: SimAnswer): ApiResult {
  return { kind: "error", answer };
}
