import { z } from "zod";
import { ValidationError } from "../../errors/index.ts";
import { PARAMS, type ParamName } from "./params.ts";

export interface BehaviourDef {
  readonly help: string;
  readonly params: readonly ParamName[];
  /** A parameter's meaning for this behaviour, where it differs from the general one. */
  readonly paramHelp?: Partial<Record<ParamName, string>>;
}

/** The behaviours of one kind of credential (API keys or web sessions) and their parameters. */
export interface BehaviourTable {
  /** "key" or "session", used in messages. */
  readonly kind: string;
  readonly names: Readonly<Record<string, BehaviourDef>>;
  /** Parameters every behaviour of this kind accepts. */
  readonly common: readonly ParamName[];
}

/** A behaviour in object form: `{ behaviour: "flaky", rate: 0.3 }`. */
export type SpecObject = { behaviour: string } & { [P in ParamName]?: unknown };

const schemas = new WeakMap<BehaviourTable, z.ZodType>();

export function allowedParams(table: BehaviourTable, name: string): ParamName[] {
  return [...(table.names[name]?.params ?? []), ...table.common];
}

function schemaFor(table: BehaviourTable): z.ZodType {
  let schema = schemas.get(table);
  if (schema) return schema;
  const names = Object.keys(table.names) as [string, ...string[]];
  const shape: Record<string, z.ZodType> = {
    behaviour: z.enum(names, { error: `must be one of ${names.join(", ")}` }),
  };
  const all = new Set<ParamName>(table.common);
  for (const def of Object.values(table.names)) for (const p of def.params) all.add(p);
  for (const p of all) shape[p] = PARAMS[p].schema.optional();
  schema = z.strictObject(shape).superRefine((value, ctx) => {
    const name = (value as SpecObject).behaviour;
    const allowed = allowedParams(table, name);
    for (const key of Object.keys(value)) {
      if (key === "behaviour" || allowed.includes(key as ParamName)) continue;
      ctx.addIssue({ code: "custom", path: [key], message: `is not a parameter of ${name} (accepts: ${allowed.join(", ")})` });
    }
  });
  schemas.set(table, schema);
  return schema;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") return `${issue.keys.join(", ")}: unknown parameter`;
      const path = issue.path.join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

/** Validates the object form; the error message names the bad field. */
export function validateSpec(table: BehaviourTable, value: unknown, where = table.kind): SpecObject {
  const result = schemaFor(table).safeParse(value);
  if (!result.success) {
    const field = result.error.issues[0]?.path.join(".") || "behaviour";
    throw new ValidationError(`${where}: ${describeIssues(result.error)}`, field);
  }
  return result.data as SpecObject;
}

/**
 * Parses the flag form `NAME` or `NAME:param=v,param=v`. Values may be
 * percent-encoded (a User-Agent with commas: `ua=Mozilla%2C...`).
 */
export function parseSpecString(table: BehaviourTable, text: string, where = table.kind): SpecObject {
  const colon = text.indexOf(":");
  const name = (colon === -1 ? text : text.slice(0, colon)).trim();
  if (!(name in table.names)) {
    const known = Object.keys(table.names).join(", ");
    throw new ValidationError(`${where}: unknown behaviour "${name}" (one of ${known})`, "behaviour");
  }
  const spec: Record<string, unknown> = { behaviour: name };
  if (colon !== -1) {
    const allowed = allowedParams(table, name);
    for (const part of text.slice(colon + 1).split(",")) {
      if (part.trim() === "") continue;
      const eq = part.indexOf("=");
      if (eq === -1) throw new ValidationError(`${where}: "${part}" is not param=value`, name);
      const key = part.slice(0, eq).trim();
      if (!allowed.includes(key as ParamName)) {
        throw new ValidationError(
          `${where}: unknown parameter "${key}" for ${name} (accepts: ${allowed.join(", ") || "none"})`,
          key,
        );
      }
      if (key in spec) throw new ValidationError(`${where}: parameter "${key}" given twice`, key);
      let raw = part.slice(eq + 1);
      if (raw.includes("%")) {
        try {
          raw = decodeURIComponent(raw);
        } catch {
          throw new ValidationError(`${where}: ${key}: bad percent-encoding`, key);
        }
      }
      spec[key] = PARAMS[key as ParamName].fromString(raw);
    }
  }
  return validateSpec(table, spec, where);
}

/** Accepts either form. */
export function toSpec(table: BehaviourTable, value: unknown, where = table.kind): SpecObject {
  return typeof value === "string" ? parseSpecString(table, value, where) : validateSpec(table, value, where);
}

/** The flag form of a spec, e.g. `rate-limited:rpm=3,tpm=20000`. */
export function formatSpec(spec: SpecObject): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (key === "behaviour" || value === undefined) continue;
    const text = Array.isArray(value) ? value.join("|") : String(value);
    parts.push(`${key}=${text.replace(/[%,]/g, (c) => encodeURIComponent(c))}`);
  }
  return parts.length === 0 ? spec.behaviour : `${spec.behaviour}:${parts.join(",")}`;
}

/** Help lines: one per behaviour with its parameters. */
export function describeTable(table: BehaviourTable, indent = "  "): string {
  const lines: string[] = [];
  const width = Math.max(...Object.keys(table.names).map((n) => n.length));
  for (const [name, def] of Object.entries(table.names)) {
    lines.push(`${indent}${name.padEnd(width)}  ${def.help}`);
    for (const p of def.params) {
      lines.push(`${indent}${" ".repeat(width + 4)}${`${p}=`.padEnd(11)}${def.paramHelp?.[p] ?? PARAMS[p].help}`);
    }
  }
  if (table.common.length > 0) {
    lines.push(`${indent}every ${table.kind} behaviour also takes:`);
    for (const p of table.common) lines.push(`${indent}${" ".repeat(width + 4)}${`${p}=`.padEnd(11)}${PARAMS[p].help}`);
  }
  return lines.join("\n");
}
