/** The dashboard's static handler: content types, security headers, caching, 404s, and no way out of its folder. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { CSP, dashboardMount } from "../../src/dashboard/index.ts";
import { startGateway, type Gateway } from "../../src/gateway/index.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { silentLogger } from "../../src/util/logger.ts";

/** A request with the path sent exactly as written (fetch would normalise `..` away). */
function raw(gw: Gateway, path: string, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: gw.host, port: gw.port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard static handler", () => {
  let pool: Pool;
  let gw: Gateway;
  before(async () => {
    pool = await createPool({ health: false });
    // No admin token: the page still loads (it asks for the token; the admin API says it is off).
    gw = await startGateway({ host: "127.0.0.1", port: 0 }, { pool, logger: silentLogger(), defaultMetrics: false });
  });
  after(async () => {
    await gw.close(1000);
    await pool.close();
  });

  it("redirects /dashboard to /dashboard/ with a relative location", async () => {
    const res = await fetch(`${gw.url}/dashboard?x=1`, { redirect: "manual" });
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("location"), "dashboard/?x=1");
  });

  it("serves the page without a token, with a strict CSP and no inline script or style", async () => {
    const res = await fetch(`${gw.url}/dashboard/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("content-security-policy"), CSP);
    assert.match(CSP, /default-src 'none'/);
    assert.match(CSP, /script-src 'self'(;|$)/);
    assert.match(CSP, /require-trusted-types-for 'script'/);
    assert.doesNotMatch(CSP, /unsafe-inline|unsafe-eval|http:|https:/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const html = await res.text();
    assert.match(html, /<script type="module" src="js\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, "no inline style or handler attributes");
    assert.doesNotMatch(html, /https?:\/\//, "nothing from another origin");
  });

  it("serves every file the page and its modules load, each with its content type", async () => {
    const seen = new Set<string>();
    const queue = ["index.html"];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const res = await fetch(`${gw.url}/dashboard/${name}`);
      assert.equal(res.status, 200, name);
      const type = res.headers.get("content-type")!;
      const text = await res.text();
      const dir = name.includes("/") ? name.slice(0, name.lastIndexOf("/") + 1) : "";
      if (name.endsWith(".html")) {
        for (const m of text.matchAll(/(?:src|href)="([^"#:]+)"/g)) queue.push(m[1]!);
      } else if (name.endsWith(".js")) {
        assert.equal(type, "text/javascript; charset=utf-8");
        for (const m of text.matchAll(/(?:from|import)\s*"(\.[^"]+)"/g)) queue.push(new URL(m[1]!, `http://x/${dir}`).pathname.slice(1));
      } else if (name.endsWith(".css")) {
        assert.equal(type, "text/css; charset=utf-8");
        assert.doesNotMatch(text, /@import|url\(\s*["']?https?:/, `${name} loads nothing from elsewhere`);
      } else if (name.endsWith(".svg")) {
        assert.equal(type, "image/svg+xml");
      }
    }
    assert.ok(seen.has("js/app.js") && seen.has("js/pages/keys.js") && seen.has("css/base.css"), [...seen].join(", "));
    assert.ok(seen.size >= 15);
  });

  it("revalidates with an ETag (304 without a body), answers HEAD without a body", async () => {
    const first = await fetch(`${gw.url}/dashboard/js/app.js`);
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^"[\w-]{22}"$/);
    const again = await fetch(`${gw.url}/dashboard/js/app.js`, { headers: { "if-none-match": `"other", ${etag}` } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
    const head = await raw(gw, "/dashboard/js/app.js", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(Number(head.headers["content-length"]), Buffer.byteLength(await first.text()));
  });

  it("answers 405 to other methods and 404 (OpenAI-shaped) to unknown files", async () => {
    const post = await fetch(`${gw.url}/dashboard/`, { method: "POST", body: "token=x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    const nf = await fetch(`${gw.url}/dashboard/nope.js`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, "KP_ROUTE_NOT_FOUND");
    assert.equal((await fetch(`${gw.url}/dashboard/js`)).status, 404);
    assert.equal((await fetch(`${gw.url}/dashboardx`)).status, 404);
  });

  it("never serves anything outside its folder, however the path is spelled", async () => {
    const attempts = [
      "/dashboard/../package.json",
      "/dashboard/../../package.json",
      "/dashboard/%2e%2e/package.json",
      "/dashboard/..%2f..%2fpackage.json",
      "/dashboard/%2e%2e%2f%2e%2e%2fpackage.json",
      "/dashboard/js/../../handler.ts",
      "/dashboard/../handler.ts",
      "/dashboard//etc/passwd",
      "/dashboard/..\\..\\package.json",
      "/dashboard/%00index.html",
      "/dashboard/./index.html",
      "/dashboard/js/./app.js",
    ];
    for (const path of attempts) {
      const res = await raw(gw, path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /"name": "keypool"|root:|import /, path);
    }
  });

  it("serves only files of a known type, never dotfiles, from the folder it was given", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keypool-dash-assets-"));
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>t</title>");
    writeFileSync(join(dir, "sub", "a.js"), "export {};");
    writeFileSync(join(dir, "secret.ts"), "export const s = 1;");
    writeFileSync(join(dir, ".env"), "KEY=1");
    const own = await startGateway({ host: "127.0.0.1", port: 0 }, { pool, logger: silentLogger(), defaultMetrics: false, mounts: [dashboardMount({ dir, prefix: "/other" })] });
    try {
      // The custom mount serves its own folder; /dashboard stays the built-in one.
      assert.equal((await fetch(`${own.url}/other/sub/a.js`)).headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.equal((await fetch(`${own.url}/other`, { redirect: "manual" })).headers.get("location"), "other/");
      assert.equal(await (await fetch(`${own.url}/other/`)).text(), "<!doctype html><title>t</title>");
      assert.equal((await fetch(`${own.url}/other/secret.ts`)).status, 404);
      assert.equal((await fetch(`${own.url}/other/.env`)).status, 404);
    } finally {
      await own.close(1000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
