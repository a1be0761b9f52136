import { ValidationError } from "../../errors/index.ts";

/** Splits a `KEY=BEHAVIOUR` flag value at its first `=`. */
export function splitAssignment(flag: string, value: string): { name: string; spec: string } {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1) {
    throw new ValidationError(`${flag} "${value}": expected NAME=BEHAVIOUR, e.g. sk-a=rate-limited:rpm=3`, flag);
  }
  return { name: value.slice(0, eq), spec: value.slice(eq + 1) };
}
