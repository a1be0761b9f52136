export { startGateway, openGatewayPool, type Gateway, type GatewayOptions } from "./gateway.ts";
export type { Mount } from "./server.ts";
export type { GatewayContext } from "./context.ts";
export { issueToken, hashToken, tokenView, parseExpiry, type TokenSpec, type TokenView } from "./auth/token-issue.ts";
export { checkAdmin } from "./admin/router.ts";
