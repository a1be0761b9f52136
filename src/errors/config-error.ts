import { KeypoolError } from "./keypool-error.ts";

/** A configuration value is missing or malformed; `field` names it. */
export class ConfigError extends KeypoolError {
  readonly field: string;
  constructor(field: string, message: string, cause?: unknown) {
    super("KP_CONFIG", `${field}: ${message}`, { status: 500, type: "invalid_configuration", param: field, cause });
    this.name = "ConfigError";
    this.field = field;
  }
}
