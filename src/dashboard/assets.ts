/**
 * The dashboard's files, read once into memory: a fixed table of URL paths,
 * so a request can only ever name one of them (no path is joined to the disk).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
};

export const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

export const contentType = (name: string): string | undefined => TYPES[extname(name).toLowerCase()];

/** Every file under `dir` with a known type, keyed by its path relative to `dir` (`js/app.js`). */
export async function loadAssets(dir: string = PUBLIC_DIR): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith(".")) continue;
    const type = contentType(entry.name);
    if (type === undefined) continue;
    const file = join(entry.parentPath, entry.name);
    const body = await readFile(file);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    out.set(relative(dir, file).split(sep).join("/"), { body, type, etag });
  }
  return out;
}
