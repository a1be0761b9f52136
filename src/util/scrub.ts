import { maskSecret } from "./mask.ts";

// Key-like runs: `sk-...`/`sess-...`/`kp-...` prefixes, bearer tokens, and long opaque strings.
const SECRET_LIKE = /\b(?:(?:sk|sess|kp|rk|pk)-[A-Za-z0-9_*-]{8,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_.-]+|[A-Za-z0-9_-]{32,})/g;

/** Masks anything in free text that looks like a secret (upstream messages sometimes echo keys). */
export function scrubSecrets(text: string): string {
  return text.replace(SECRET_LIKE, (m) => (m.includes("***") ? m : maskSecret(m)));
}
