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
}

export interface Usage {
  readonly model: ModelInfo;
  readonly prompt: number;
  readonly completion: number;
}

export type ApiResult =
  | { readonly kind: "error"; readonly answer: SimAnswer }
  | { readonly kind: "json"; readonly body: string; readonly headers: HeaderList | null; readonly usage: Usage | null }
  | { readonly kind: "stream"; readonly pieces: string[]; readonly headers: HeaderList; readonly usage: Usage };

export type ApiHandler = (r: ApiRequest) => ApiResult | Promise<ApiResult>;

export function fail(answer: SimAnswer): ApiResult {
  return { kind: "error", answer };
}
