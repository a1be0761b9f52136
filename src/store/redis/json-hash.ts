/**
 * Objects stored as hashes with one JSON value per field, for the small
 * records (client tokens, conversations): a number is its digits, so
 * HINCRBY works on it; a null is the text `null`.
 */

/** Field/value pairs for HSET; undefined properties are left out. */
export function encodeJsonHash(value: object): string[] {
  const out: string[] = [];
  for (const [field, v] of Object.entries(value)) {
    if (v !== undefined) out.push(field, JSON.stringify(v));
  }
  return out;
}

/** The object from HGETALL's reply (an object, or a flat list from a script); null when empty. */
export function decodeJsonHash<T>(hash: Record<string, string> | readonly string[] | null): T | null {
  if (hash === null) return null;
  const out: Record<string, unknown> = {};
  if (Array.isArray(hash)) {
    for (let i = 0; i + 1 < hash.length; i += 2) out[hash[i]!] = JSON.parse(hash[i + 1]!);
  } else {
    for (const [field, text] of Object.entries(hash)) out[field] = JSON.parse(text);
  }
  return Object.keys(out).length === 0 ? null : (out as T);
}
