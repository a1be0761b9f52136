/**
 * Where a request goes. The pool decides the upstream: a request URL is
 * reduced to its API path (what follows `/v1`, or the pool upstream's prefix)
 * and joined to the chosen credential's base URL, so the SDK's own baseURL
 * never sends a request past the pool.
 */
export function apiPath(url: URL, poolUpstream: string): string {
  const full = url.href;
  if (full.startsWith(poolUpstream)) {
    const rest = full.slice(poolUpstream.replace(/\/+$/, "").length);
    return rest.startsWith("/") || rest === "" || rest.startsWith("?") ? rest : `/${rest}`;
  }
  const i = url.pathname.indexOf("/v1/");
  const path = i >= 0 ? url.pathname.slice(i + 3) : url.pathname.endsWith("/v1") ? "" : url.pathname;
  return `${path}${url.search}`;
}

export function joinUpstream(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}
