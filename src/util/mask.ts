/**
 * Shows a secret without giving it away: the scheme prefix (`sk-`, `sk-proj-`)
 * and the last four characters, e.g. `sk-…abcd`. Short secrets show only `…`.
 */
export function maskSecret(secret: string): string {
  if (secret.length < 12) return "…";
  const tail = secret.slice(-4);
  const prefix = /^[a-z]{1,8}-(?:[a-z]{1,8}-)?/i.exec(secret)?.[0] ?? "";
  return `${prefix.length <= 12 ? prefix : ""}…${tail}`;
}
