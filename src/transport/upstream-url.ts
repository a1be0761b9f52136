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

/** Where undici sends a request: an origin and the path on it. */
export interface UpstreamTarget {
  origin: string;
  path: string;
}

const bases = new Map<string, { origin: string; prefix: string }>();

/**
 * A credential's base URL joined with an API path, split as undici takes it: each base URL is
 * parsed once, so a request costs a string concatenation rather than a URL parse (undici parses
 * a URL string on every call).
 */
export function upstreamTarget(base: string, path: string): UpstreamTarget {
  let b = bases.get(base);
  if (b === undefined) {
    const url = new URL(base.replace(/\/+$/, ""));
    b = { origin: url.origin, prefix: url.pathname === "/" ? "" : url.pathname };
    if (bases.size >= 1000) bases.clear(); // base URLs are a handful; bounded anyway
    bases.set(base, b);
  }
  const full = b.prefix + path;
  return { origin: b.origin, path: full === "" || full.startsWith("?") ? `/${full}` : full };
}
