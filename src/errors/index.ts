export { KeypoolError, type KeypoolErrorOptions } from "./keypool-error.ts";
export { ConfigError } from "./config-error.ts";
export { ValidationError } from "./validation-error.ts";
export { NotFoundError } from "./not-found-error.ts";
export { toErrorResponse, type ErrorResponse } from "./to-response.ts";
