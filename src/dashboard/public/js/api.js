// The admin API, from the page: the token in an Authorization header (never in a URL),
// errors as ApiError with the gateway's code and message, and readers for streamed answers.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** What to tell a person about a failed call. */
export function explain(err) {
  if (err instanceof ApiError) {
    if (err.code === "KP_ADMIN_TOKEN_INVALID" && err.status === 401) return "The gateway refused this admin token: it is not the KEYPOOL_ADMIN_TOKEN it was started with.";
    if (err.code === "KP_ADMIN_TOKEN_MISSING") return "Enter the admin token.";
    return err.message;
  }
  return String(err?.message ?? err);
}

async function toError(res) {
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = await res.json();
    if (body?.error?.message) message = body.error.message;
    if (body?.error?.code) code = body.error.code;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

/**
 * A client for `../admin/` relative to the page. `getToken` is read on every call;
 * `onUnauthorized` hears every 401 (the token was changed or revoked: sign in again).
 */
export function createApi({ getToken, onUnauthorized = () => {} }) {
  const base = new URL("../admin/", location.href);
  async function request(path, { method = "GET", body, type, accept = "application/json", signal, token } = {}) {
    const headers = { authorization: `Bearer ${token ?? getToken()}`, accept };
    if (body !== undefined) headers["content-type"] = type ?? "application/json";
    const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
    let res;
    try {
      res = await fetch(new URL(path, base), { method, headers, signal, cache: "no-store", ...(payload === undefined ? {} : { body: payload }) });
    } catch (err) {
      if (err?.name === "AbortError") throw err;
      throw new ApiError(0, "NETWORK", "Cannot reach the gateway. Is keypool serve still running?");
    }
    if (!res.ok) {
      const err = await toError(res);
      if (res.status === 401 && token === undefined) onUnauthorized(err);
      throw err;
    }
    return res;
  }
  return {
    request,
    get: async (path, opts) => (await request(path, opts)).json(),
    post: async (path, body, opts = {}) => (await request(path, { ...opts, method: "POST", body })).json(),
    del: async (path, opts = {}) => (await request(path, { ...opts, method: "DELETE" })).json(),
  };
}

/** Lines of a streamed body, as they arrive. */
export async function* lines(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        yield buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
      }
    }
    if (buf !== "") yield buf;
  } finally {
    reader.releaseLock();
  }
}

/** NDJSON objects of a streamed body. */
export async function* ndjson(body) {
  for await (const line of lines(body)) if (line.trim() !== "") yield JSON.parse(line);
}

/** Server-sent events of a streamed body: `{ event, data }` (data parsed as JSON). */
export async function* sse(body) {
  let event = "message";
  let data = [];
  for await (const line of lines(body)) {
    if (line === "") {
      if (data.length > 0) yield { event, data: JSON.parse(data.join("\n")) };
      event = "message";
      data = [];
    } else if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
}
