/** What `keypool tokens …` does, on the local store or a running gateway. Loaded only when a tokens command runs. */
import { NotFoundError, ValidationError } from "../errors/index.ts";
import { readEnv } from "../config/env.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/types.ts";
import { issueToken, parseExpiry, tokenView, type TokenView } from "../gateway/auth/token-issue.ts";
import { AdminClient, type RemoteFlags } from "./admin-client.ts";
import { ago, renderTable } from "./table.ts";

export interface TargetFlags extends RemoteFlags {
  store?: string;
}

async function withTarget<T>(flags: TargetFlags, remote: (c: AdminClient) => Promise<T>, local: (store: Store) => Promise<T>): Promise<T> {
  const client = AdminClient.from(flags);
  if (client !== null) return remote(client);
  const env = readEnv();
  const prefix = process.env.KEYPOOL_REDIS_PREFIX;
  const store = await openStore(flags.store ?? env.store, { secretKey: env.secretKey, ...(prefix === undefined || prefix === "" ? {} : { redisPrefix: prefix }) });
  try {
    return await local(store);
  } finally {
    await store.close();
  }
}

const out = (s: string): void => void process.stdout.write(s);

function positiveInt(flag: string, v: string | undefined): number | null {
  if (v === undefined) return null;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new ValidationError(`${flag} must be a positive integer, got "${v}"`, flag);
  return Number(v);
}

export interface AddFlags extends TargetFlags {
  name: string;
  models?: string;
  quotaTokens?: string;
  rpm?: string;
  expires?: string;
  json?: boolean;
}

export async function addToken(flags: AddFlags): Promise<void> {
  const spec = {
    name: flags.name,
    models: flags.models === undefined ? null : flags.models.split(",").map((m) => m.trim()).filter((m) => m !== ""),
    quotaTokens: positiveInt("--quota-tokens", flags.quotaTokens),
    rpm: positiveInt("--rpm", flags.rpm),
    expiresAt: flags.expires === undefined ? null : parseExpiry(flags.expires),
  };
  const created = await withTarget(
    flags,
    (c) => c.json<TokenView & { token: string }>("POST", "/admin/tokens", spec),
    async (store) => {
      const { token, record } = await issueToken(store, spec);
      return { ...tokenView(record), token };
    },
  );
  if (flags.json === true) {
    out(`${JSON.stringify(created, null, 2)}\n`);
    return;
  }
  out(`${created.token}\n`);
  process.stderr.write(
    `created client token ${created.id} (${created.name}). This is the only time it is shown: keep it now.\n` +
      `Clients use it as their API key: new OpenAI({ apiKey: "<token>", baseURL: "http://HOST:PORT/v1" })\n`,
  );
}

export async function listTokens(flags: TargetFlags & { json?: boolean }): Promise<void> {
  const list = await withTarget(
    flags,
    async (c) => (await c.json<{ data: TokenView[] }>("GET", "/admin/tokens")).data,
    async (store) => (await store.tokens.list()).map((t) => tokenView(t)),
  );
  if (flags.json === true) {
    out(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  if (list.length === 0) {
    out("no client tokens: create one with keypool tokens add --name NAME\n");
    return;
  }
  const now = Date.now();
  out(
    renderTable(
      [
        { title: "ID", value: (t: TokenView) => t.id },
        { title: "NAME", value: (t) => t.name, max: 24 },
        { title: "TOKEN", value: (t) => t.hint },
        { title: "STATE", value: (t) => t.state },
        { title: "MODELS", value: (t) => t.models?.join(",") ?? "all", max: 30 },
        { title: "USED", value: (t) => (t.quotaTokens === null ? String(t.usedTokens) : `${t.usedTokens}/${t.quotaTokens}`), align: "right" },
        { title: "RPM", value: (t) => (t.rpm === null ? "-" : String(t.rpm)), align: "right" },
        { title: "EXPIRES", value: (t) => (t.expiresAt === null ? "never" : new Date(t.expiresAt).toISOString().slice(0, 16).replace("T", " ")) },
        { title: "LAST USED", value: (t) => ago(t.lastUsedAt, now) },
      ],
      list,
    ),
  );
}

export async function removeTokens(ids: string[], flags: TargetFlags): Promise<void> {
  await withTarget(
    flags,
    async (c) => {
      for (const id of ids) {
        await c.json("DELETE", `/admin/tokens/${encodeURIComponent(id)}`);
        out(`revoked ${id}\n`);
      }
    },
    async (store) => {
      for (const id of ids) {
        if ((await store.tokens.revoke(id, Date.now())) === null) throw new NotFoundError("client token", id);
        out(`revoked ${id}\n`);
      }
    },
  );
}
