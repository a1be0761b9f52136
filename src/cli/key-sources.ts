/**
 * Where `keypool keys add` reads keys from: arguments, a file, stdin (`-`),
 * or a Redis set (the write-up's layout: each key a member of a set such as
 * `ChatGPTKey`). Every entry remembers where it came from, so an error names
 * its line.
 */
import { readFile } from "node:fs/promises";
import { Redis } from "ioredis";
import { ConfigError } from "../errors/index.ts";
import { parseCredentialInput } from "../pool/credential-input.ts";
import type { CredentialInput } from "../pool/types.ts";
import { entriesFromText, type ImportEntry } from "../gateway/keys-import.ts";

export interface SourcedEntry extends ImportEntry {
  /** `keys.txt:4`, `argument 2`, `stdin:7`, `redis set ChatGPTKey, member 3`. */
  where: string;
}

export interface KeySourceFlags {
  fromFile?: string;
  fromRedisSet?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function fromText(text: string, where: (line: number) => string): SourcedEntry[] {
  return entriesFromText(text).map((e) => ({ ...e, where: where(e.line) }));
}

/** Members of a Redis set: `redis://[:PASSWORD@]HOST:PORT/DB/SETNAME`. */
export async function readRedisSet(spec: string): Promise<{ name: string; members: string[] }> {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new ConfigError("--from-redis-set", `not a URL: use redis://HOST:PORT/DB/SETNAME`);
  }
  const m = /^\/(\d+)\/(.+)$/.exec(url.pathname);
  if (!/^rediss?:$/.test(url.protocol) || m === null) throw new ConfigError("--from-redis-set", `use redis://HOST:PORT/DB/SETNAME (e.g. redis://127.0.0.1:6379/0/ChatGPTKey)`);
  const name = decodeURIComponent(m[2]!);
  const client = new Redis({
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(m[1]),
    ...(url.username === "" ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === "" ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const type = await client.type(name);
    if (type !== "set" && type !== "none") throw new ConfigError("--from-redis-set", `${name} is a Redis ${type}, not a set`);
    const members: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await client.sscan(name, cursor, "COUNT", 1000);
      members.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    return { name, members: members.sort() };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError("--from-redis-set", `cannot read ${name} from ${url.host} (${(err as Error).message})`, err);
  } finally {
    client.disconnect();
  }
}

/** Every entry from the sources given; line numbers are the source's own. */
export async function readKeySources(args: readonly string[], flags: KeySourceFlags): Promise<SourcedEntry[]> {
  const out: SourcedEntry[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "-") out.push(...fromText(await readStdin(), (l) => `stdin:${l}`));
    else out.push(...fromText(arg, () => `argument ${i + 1}`));
  }
  if (flags.fromFile !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.fromFile, "utf8");
    } catch (err) {
      throw new ConfigError("--from-file", `cannot read ${flags.fromFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
    }
    out.push(...fromText(text, (l) => `${flags.fromFile}:${l}`));
  }
  if (flags.fromRedisSet !== undefined) {
    const { name, members } = await readRedisSet(flags.fromRedisSet);
    members.forEach((member, i) => {
      const [e] = entriesFromText(member.trim() === "" ? "#" : member);
      out.push({ ...(e ?? { error: "empty member" }), line: i + 1, where: `redis set ${name}, member ${i + 1}` });
    });
  }
  // Renumber: `line` is the entry's index from here on; `where` keeps the source's line.
  return out.map((e, i) => ({ ...e, line: i + 1 }));
}

/** Fills fields the user gave for all keys (`--label`, `--upstream`, ...) where an entry has none. */
export function withDefaults(entries: SourcedEntry[], defaults: Partial<CredentialInput>): SourcedEntry[] {
  const keys = Object.keys(defaults) as (keyof CredentialInput)[];
  if (keys.length === 0) return entries;
  return entries.map((e) => {
    if (e.input === undefined) return e;
    const merged: Record<string, unknown> = { ...e.input };
    for (const k of keys) if (merged[k] === undefined || merged[k] === null) merged[k] = defaults[k];
    try {
      return { ...e, input: parseCredentialInput(merged as unknown as CredentialInput) };
    } catch (err) {
      const { input: _input, ...rest } = e;
      return { ...rest, error: (err as Error).message };
    }
  });
}
