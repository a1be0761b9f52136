import { ValidationError } from "../../errors/index.ts";
import { maskSecret } from "../../util/mask.ts";

/** Splits a `KEY=BEHAVIOUR` flag value at its first `=`. */
export function splitAssignment(flag: string, value: string): { name: string; spec: string } {
  const eq = value.indexOf("=");
  if (eq <= 0 || eq === value.length - 1) {
    // The value may be a bare secret: show it masked.
    const shown = eq <= 0 ? maskSecret(value) : `${maskSecret(value.slice(0, eq))}=`;
    throw new ValidationError(`${flag} "${shown}": expected NAME=BEHAVIOUR, e.g. sk-a=rate-limited:rpm=3`, flag);
  }
  return { name: value.slice(0, eq), spec: value.slice(eq + 1) };
}
