/** Reading admin input: JSON bodies and query strings, validated with zod, errors naming the field. */
import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { ValidationError } from "../../errors/index.ts";
import { readBody } from "../http/body.ts";

function describe(err: z.ZodError): ValidationError {
  const first = err.issues[0];
  const field = first === undefined || first.path.length === 0 ? null : first.path.join(".");
  const text = err.issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
  return new ValidationError(`invalid request: ${text}`, field);
}

export function validate<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw describe(parsed.error);
  return parsed.data;
}

/** The body as JSON (an empty body is `{}`), validated. */
export async function jsonBody<T extends z.ZodType>(req: IncomingMessage, limit: number, schema: T): Promise<z.output<T>> {
  const raw = await readBody(req, limit);
  let value: unknown = {};
  if (raw.length > 0) {
    try {
      value = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      throw new ValidationError(`request body is not valid JSON (${(err as Error).message})`, null);
    }
  }
  return validate(schema, value);
}

/** The query string as a plain object (last value wins). */
export function queryObject(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (query.length > 1) for (const [k, v] of new URLSearchParams(query.slice(1))) out[k] = v;
  return out;
}
