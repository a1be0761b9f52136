/** `/admin/tokens…`: list, create (the token shown once), revoke. */
import type { IncomingMessage } from "node:http";
import { NotFoundError } from "../../errors/index.ts";
import type { GatewayContext } from "../context.ts";
import { sendJson } from "../http/respond.ts";
import type { GatewayResponse } from "../http/response.ts";
import { issueToken, parseExpiry, tokenView } from "../auth/token-issue.ts";
import { jsonBody } from "./input.ts";
import { createTokenBody } from "./schemas.ts";

export async function listTokens(ctx: GatewayContext, res: GatewayResponse): Promise<void> {
  const now = Date.now();
  const list = await ctx.pool.store.tokens.list();
  sendJson(res, 200, { data: list.map((t) => tokenView(t, now)) });
}

export async function createToken(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse): Promise<void> {
  const b = await jsonBody(req, 64 * 1024, createTokenBody);
  const { token, record } = await issueToken(ctx.pool.store, {
    name: b.name,
    models: b.models ?? null,
    quotaTokens: b.quotaTokens ?? null,
    rpm: b.rpm ?? null,
    expiresAt: b.expiresAt == null ? null : parseExpiry(b.expiresAt),
  });
  ctx.auth.tokenCreated();
  ctx.log.info({ tokenId: record.id, name: record.name }, "client token created");
  sendJson(res, 201, { ...tokenView(record), token });
}

export async function revokeToken(ctx: GatewayContext, res: GatewayResponse, id: string): Promise<void> {
  const t = await ctx.pool.store.tokens.revoke(id, Date.now());
  if (t === null) throw new NotFoundError("client token", id);
  ctx.auth.invalidate();
  ctx.log.info({ tokenId: id }, "client token revoked");
  sendJson(res, 200, tokenView(t));
}
