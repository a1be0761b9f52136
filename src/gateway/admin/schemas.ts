/** Shapes of the admin API's input. Strict: an unknown field is an error that names it. */
import { z } from "zod";
import { CREDENTIAL_STATES } from "../../pool/types.ts";

const positiveInt = z.number().int().positive();
const time = z.union([z.number().finite(), z.string().min(1)]);

export const addKeysBody = z
  .object({
    /** Keys, or credential objects (`{secret, label, baseURL, ...}`). */
    keys: z.array(z.unknown()).max(1_000_000).optional(),
    /** Import text: one key per line (`KEY`, `KEY LABEL`, or a JSON object). */
    text: z.string().optional(),
  })
  .strict()
  .refine((b) => b.keys !== undefined || b.text !== undefined, { message: "send keys (an array) or text (lines)", path: ["keys"] });

export const noteBody = z.object({ note: z.string().max(500).optional() }).strict();

export const probeBody = z.object({ ids: z.array(z.string().min(1)).max(1_000_000).optional() }).strict();

export const removeBody = z.object({ ids: z.array(z.string().min(1)).min(1).max(1_000_000) }).strict();

export const patchKeyBody = z
  .object({
    label: z.string().max(200).nullable().optional(),
    weight: z.number().finite().min(0).max(1_000_000).optional(),
    models: z.array(z.string().min(1).max(200)).max(1000).nullable().optional(),
    maxInFlight: positiveInt.nullable().optional(),
    budgetUsd: z.number().finite().positive().nullable().optional(),
    rpm: positiveInt.nullable().optional(),
    tpm: positiveInt.nullable().optional(),
    baseURL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).nullable().optional(),
  })
  .strict();

export const createTokenBody = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(200),
    models: z.array(z.string().min(1).max(200)).max(1000).nullable().optional(),
    quotaTokens: positiveInt.nullable().optional(),
    rpm: positiveInt.nullable().optional(),
    expiresAt: time.nullable().optional(),
  })
  .strict();

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be an integer")
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);

export const keysQuery = z
  .object({
    state: z.enum(CREDENTIAL_STATES).optional(),
    /** Substring of the label (case-insensitive). */
    label: z.string().optional(),
    limit: intString(1, 1_000_000).optional(),
    offset: intString(0, 100_000_000).optional(),
  })
  .strict();

export const eventsQuery = z
  .object({
    credential: z.string().min(1).optional(),
    kind: z.enum(["added", "removed", "state", "updated"]).optional(),
    before: z.string().min(1).optional(),
    limit: intString(1, 10_000).optional(),
  })
  .strict();

export const USAGE_GROUPS = ["credential", "token", "model", "day", "hour"] as const;

export const usageQuery = z
  .object({
    from: z.string().min(1).optional(),
    to: z.string().min(1).optional(),
    groupBy: z
      .string()
      .optional()
      .transform((s, ctx) => {
        if (s === undefined || s === "") return [];
        const parts = s.split(",").map((p) => p.trim());
        for (const p of parts) {
          if (!(USAGE_GROUPS as readonly string[]).includes(p)) {
            ctx.addIssue({ code: "custom", message: `unknown group "${p}" (use ${USAGE_GROUPS.join(", ")})` });
            return z.NEVER;
          }
        }
        return parts as (typeof USAGE_GROUPS)[number][];
      }),
    credential: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
  })
  .strict();
