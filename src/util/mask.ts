/**
 * Shows a secret without giving it away: its scheme prefix and the last four
 * characters, e.g. `sk-…abcd`, `sk-proj-…abcd`, `kp-…abcd`. Short secrets show
 * only `…`. Only `sk-` keys may show one more lowercase word (`proj`,
 * `svcacct`, a reseller's tag): OpenAI-style bodies are alphanumeric, so the
 * word is a scheme. Other tokens (ours are base64url, which has dashes) show
 * their scheme alone, so random letters before a dash never leak.
 */
const PREFIX = /^(?:sk-[a-z]{2,10}-|[a-z]{2,4}-)/;

export function maskSecret(secret: string): string {
  if (secret.length < 12) return "…";
  const prefix = PREFIX.exec(secret)?.[0] ?? "";
  return `${prefix}…${secret.slice(-4)}`;
}
