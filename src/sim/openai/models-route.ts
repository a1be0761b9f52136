import { fail, type ApiRequest, type ApiResult } from "./api-types.ts";
import { modelNotFound } from "./errors.ts";
import { KNOWN_MODEL_IDS, modelInfo, modelObject } from "./models.ts";

function listBody(ids: Iterable<string>, allowList: ReadonlySet<string> | null): string {
  const data = [];
  for (const id of ids) {
    const info = modelInfo(id, allowList);
    if (info) data.push(modelObject(info));
  }
  return JSON.stringify({ object: "list", data });
}

let everyModel: string | null = null;

/** `GET /v1/models`: every known model, or the key's allow-list. */
export function listModels(r: ApiRequest): ApiResult {
  const allow = r.state.behaviour.models;
  let body: string;
  if (allow === null) body = everyModel ??= listBody(KNOWN_MODEL_IDS, null);
  else body = r.state.modelsBody ??= listBody([...allow].sort(), allow);
  return { kind: "json", body, usage: null };
}

/** `GET /v1/models/{id}`. */
export function retrieveModel(r: ApiRequest): ApiResult {
  const id = decodeURIComponent(r.path.slice("/v1/models/".length));
  const info = modelInfo(id, r.state.behaviour.models);
  if (!info) return fail(modelNotFound(id));
  return { kind: "json", body: JSON.stringify(modelObject(info)), usage: null };
}
