/**
 * Base of every error keypool throws on purpose. `code` is stable (scripts and
 * tests match on it); `status` and `type` are what the gateway answers with.
 */
const BRAND = Symbol.for("keypool.error");

export interface KeypoolErrorOptions {
  cause?: unknown;
  /** HTTP status the error maps to at the gateway's edge. */
  status?: number;
  /** OpenAI error `type` used in HTTP bodies. */
  type?: string;
  /** OpenAI error `param`, when one request field is at fault. */
  param?: string | null;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
}

export class KeypoolError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(code: string, message: string, options: KeypoolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KeypoolError";
    this.code = code;
    this.status = options.status ?? 500;
    this.type = options.type ?? "keypool_error";
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for keypool errors, also ones thrown by another copy of the library. */
  static is(value: unknown): value is KeypoolError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
