import type { CredentialRecord } from "../pool/types.ts";

/** Headers never forwarded upstream: hop-by-hop ones, and any credential the caller sent. */
const DROP = new Set([
  "authorization",
  "api-key",
  "cookie",
  "host",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "openai-organization",
  "openai-project",
  "x-keypool-token",
]);

/** The caller's headers, cleaned, with the credential's authentication set. */
export function upstreamHeaders(incoming: Iterable<[string, string]>, cred: CredentialRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of incoming) {
    const name = k.toLowerCase();
    if (!DROP.has(name)) out[name] = v;
  }
  if (cred.authStyle === "api-key") out["api-key"] = cred.secret;
  else out.authorization = `Bearer ${cred.secret}`;
  if (cred.organization !== null) out["openai-organization"] = cred.organization;
  if (cred.project !== null) out["openai-project"] = cred.project;
  return out;
}
