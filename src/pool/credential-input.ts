/**
 * Validating what users hand us as credentials: a bare key, an object, or the
 * lines of an import file. A bad entry is reported with its line; the good
 * ones are kept.
 */
import { z } from "zod";
import { ValidationError } from "../errors/index.ts";
import type { CredentialInput } from "./types.ts";

const secret = z
  .string()
  .min(8, "is too short to be a key (8 characters at least)")
  .max(4096, "is too long")
  .regex(/^\S+$/, "contains whitespace");

const url = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const positive = z.number().finite().positive();

export const credentialInputSchema = z
  .object({
    secret,
    kind: z.enum(["api", "web"]).optional(),
    label: z.string().max(200).nullable().optional(),
    baseURL: url.nullable().optional(),
    authStyle: z.enum(["bearer", "api-key"]).optional(),
    organization: z.string().max(200).nullable().optional(),
    project: z.string().max(200).nullable().optional(),
    proxy: z.url({ protocol: /^(https?|socks5?)$/, error: "must be an http(s) or socks URL" }).nullable().optional(),
    weight: z.number().finite().min(0).max(1_000_000).optional(),
    models: z.array(z.string().min(1).max(200)).max(1000).nullable().optional(),
    maxInFlight: z.number().int().positive().nullable().optional(),
    budgetUsd: positive.nullable().optional(),
    rpm: z.number().int().positive().nullable().optional(),
    tpm: z.number().int().positive().nullable().optional(),
    meta: z.record(z.string(), z.string()).optional(),
  })
  .strict();

function describe(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "value"} ${i.message}`).join("; ");
}

/** One credential from a key string or an object; throws ValidationError naming the field. */
export function parseCredentialInput(value: string | CredentialInput): CredentialInput {
  const parsed = credentialInputSchema.safeParse(typeof value === "string" ? { secret: value.trim() } : value);
  if (!parsed.success) throw new ValidationError(`invalid credential: ${describe(parsed.error)}`, parsed.error.issues[0]?.path.join(".") ?? null);
  return parsed.data as CredentialInput;
}

export interface LineError {
  line: number;
  message: string;
}

export interface ParsedLines {
  inputs: CredentialInput[];
  errors: LineError[];
  /** Lines repeating a key seen earlier in the same input. */
  repeated: number[];
}

/**
 * Import format, one credential per line: `KEY`, `KEY LABEL...`, or a JSON
 * object (`{"secret": "...", "label": "..."}`). Blank lines and `#` comments
 * are skipped.
 */
export function parseCredentialLines(text: string): ParsedLines {
  const inputs: CredentialInput[] = [];
  const errors: LineError[] = [];
  const repeated: number[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      let input: CredentialInput;
      if (line.startsWith("{")) {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          throw new ValidationError("not valid JSON");
        }
        input = parseCredentialInput(obj as CredentialInput);
      } else {
        const [key, ...rest] = line.split(/\s+/);
        input = parseCredentialInput(rest.length > 0 ? { secret: key!, label: rest.join(" ") } : key!);
      }
      if (seen.has(input.secret)) {
        repeated.push(i + 1);
        continue;
      }
      seen.add(input.secret);
      inputs.push(input);
    } catch (err) {
      errors.push({ line: i + 1, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return { inputs, errors, repeated };
}
