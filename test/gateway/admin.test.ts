/** The admin API: who may use it, what it validates, and each route. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN, harness, key, type Harness } from "./helpers.ts";

const json = async <T = Record<string, unknown>>(res: Response): Promise<T> => (await res.json()) as T;

describe("admin API access", () => {
  let off: Harness;
  let on: Harness;
  before(async () => {
    off = await harness({ [key("a")]: "ok" }, { gateway: { adminToken: undefined } });
    on = await harness({ [key("a")]: "ok" });
  });
  after(async () => {
    await off.close();
    await on.close();
  });

  it("refuses everything when no admin token is configured, saying how to set one", async () => {
    const res = await off.admin("/admin/keys", { auth: "anything-at-all-0123456789" });
    assert.equal(res.status, 403);
    const body = await json<{ error: { code: string; message: string } }>(res);
    assert.equal(body.error.code, "KP_ADMIN_DISABLED");
    assert.match(body.error.message, /KEYPOOL_ADMIN_TOKEN/);
    assert.equal((await off.admin("/admin/keys", { auth: null })).status, 403);
  });

  it("refuses missing and wrong admin tokens with 401, and client tokens with 403", async () => {
    assert.equal((await on.admin("/admin/keys", { auth: null })).status, 401);
    const wrong = await on.admin("/admin/keys", { auth: `${ADMIN}x` });
    assert.equal(wrong.status, 401);
    assert.equal((await json<{ error: { code: string } }>(wrong)).error.code, "KP_ADMIN_TOKEN_INVALID");
    const created = await json<{ token: string }>(await on.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "c" }) }));
    const asClient = await on.admin("/admin/keys", { auth: created.token });
    assert.equal(asClient.status, 403);
    assert.match((await json<{ error: { message: string } }>(asClient)).error.message, /client token cannot use the admin API/);
  });

  it("answers 404 for unknown admin routes and 405 (with Allow) for wrong methods", async () => {
    const nf = await on.admin("/admin/nope");
    assert.equal(nf.status, 404);
    assert.equal((await json<{ error: { code: string } }>(nf)).error.code, "KP_ROUTE_NOT_FOUND");
    const m = await on.admin("/admin/keys", { method: "PUT", body: "{}" });
    assert.equal(m.status, 405);
    assert.equal(m.headers.get("allow"), "GET, POST");
  });

  it("validates input: malformed JSON, wrong types and unknown fields get a 400 naming the field", async () => {
    const bad = await on.admin("/admin/tokens", { method: "POST", body: "{oops" });
    assert.equal(bad.status, 400);
    assert.match((await json<{ error: { message: string } }>(bad)).error.message, /not valid JSON/);
    const wrong = await on.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: 5 }) });
    assert.equal(wrong.status, 400);
    const w = await json<{ error: { param: string; message: string; type: string } }>(wrong);
    assert.equal(w.error.param, "name");
    assert.equal(w.error.type, "invalid_request_error");
    const unknown = await on.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "x", colour: "red" }) });
    assert.equal(unknown.status, 400);
    assert.match((await json<{ error: { message: string } }>(unknown)).error.message, /colour/);
    const q = await on.admin("/admin/events?limit=abc");
    assert.equal(q.status, 400);
    assert.equal((await json<{ error: { param: string } }>(q)).error.param, "limit");
    const g = await on.admin("/admin/usage?groupBy=planet");
    assert.equal(g.status, 400);
    assert.match((await json<{ error: { message: string } }>(g)).error.message, /unknown group "planet"/);
  });
});

describe("admin API routes", () => {
  let h: Harness;
  const OK = key("ok");
  const DEAD = key("dead");
  before(async () => {
    h = await harness({ [OK]: "ok", [DEAD]: "invalid" });
  });
  after(() => h.close());

  it("lists keys masked, with state, reason and counts; never a whole key", async () => {
    const res = await h.admin("/admin/keys");
    const text = await res.text();
    assert.ok(!text.includes(OK) && !text.includes(DEAD));
    const body = JSON.parse(text) as { data: { key: string; state: string; requests: number }[]; total: number };
    assert.equal(body.total, 2);
    assert.ok(body.data.every((k) => /^sk-[a-z-]*…\w{4}$/.test(k.key)), JSON.stringify(body.data.map((k) => k.key)));
    const active = await json<{ total: number }>(await h.admin("/admin/keys?state=active"));
    assert.equal(active.total, 2);
  });

  it("adds keys in bulk from text lines, with a result per line (added, duplicate, malformed)", async () => {
    const text = [key("new", 1), "short", `${key("new", 2)} second label`, key("new", 1), OK, "# a comment", '{"secret": "x"}'].join("\n");
    const res = await h.admin("/admin/keys", { method: "POST", body: text, headers: { "content-type": "text/plain" } });
    assert.equal(res.status, 201);
    const r = await json<{ added: number; duplicates: number; malformed: number; results: { line: number; status: string; message?: string; key?: string }[] }>(res);
    assert.deepEqual(
      r.results.map((x) => [x.line, x.status]),
      [
        [1, "added"],
        [2, "malformed"],
        [3, "added"],
        [4, "duplicate"],
        [5, "duplicate"],
        [7, "malformed"],
      ],
    );
    assert.match(r.results[1]!.message!, /too short/);
    assert.equal(r.added, 2);
    assert.ok(!JSON.stringify(r).includes(key("new", 1)));
    assert.equal(h.pool.get(key("new", 2))!.label, "second label");
  });

  it("adds keys from a JSON array (strings and credential objects)", async () => {
    const res = await h.admin("/admin/keys", { method: "POST", body: JSON.stringify({ keys: [key("json", 1), { secret: key("json", 2), label: "obj", weight: 2 }, { secret: key("json", 3), weight: "heavy" }] }) });
    const r = await json<{ results: { line: number; status: string; message?: string }[] }>(res);
    assert.deepEqual(
      r.results.map((x) => x.status),
      ["added", "added", "malformed"],
    );
    assert.match(r.results[2]!.message!, /weight/);
  });

  it("shows, disables, enables, patches and removes one key", async () => {
    const id = h.pool.get(key("json", 1))!.id;
    const one = await json<{ id: string; state: string }>(await h.admin(`/admin/keys/${id}`));
    assert.equal(one.id, id);
    const dis = await json<{ state: string }>(await h.admin(`/admin/keys/${id}/disable`, { method: "POST", body: JSON.stringify({ note: "maintenance" }) }));
    assert.equal(dis.state, "disabled");
    const en = await json<{ state: string }>(await h.admin(`/admin/keys/${id}/enable`, { method: "POST" }));
    assert.equal(en.state, "active");
    const patched = await json<{ label: string; weight: number }>(await h.admin(`/admin/keys/${id}`, { method: "PATCH", body: JSON.stringify({ label: "renamed", weight: 3 }) }));
    assert.deepEqual([patched.label, patched.weight], ["renamed", 3]);
    const del = await h.admin(`/admin/keys/${id}`, { method: "DELETE" });
    assert.deepEqual(await json(del), { removed: [id] });
    assert.equal((await h.admin(`/admin/keys/${id}`)).status, 404);
    assert.equal((await h.admin(`/admin/keys/${id}`, { method: "DELETE" })).status, 404);
  });

  it("probes one key, and all keys with progress streamed as NDJSON", async () => {
    const dead = h.pool.get(DEAD)!.id;
    const one = await json<{ id: string; after: string }>(await h.admin(`/admin/keys/${dead}/probe`, { method: "POST" }));
    assert.equal(one.after, "retired");
    const res = await h.admin("/admin/keys/probe", { method: "POST", headers: { accept: "application/x-ndjson" } });
    assert.equal(res.headers.get("content-type"), "application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; done?: number; total?: number; probed?: number });
    assert.equal(lines[0]!.type, "start");
    const progress = lines.filter((l) => l.type === "progress");
    assert.equal(progress.length, lines[0]!.total);
    assert.equal(progress.at(-1)!.done, progress.length);
    assert.equal(lines.at(-1)!.type, "done");
    const plain = await json<{ probed: number; data: unknown[] }>(await h.admin("/admin/keys/probe", { method: "POST" }));
    assert.equal(plain.data.length, plain.probed);
  });

  it("reads the audit events, filtered by key and kind", async () => {
    const dead = h.pool.get(DEAD)!.id;
    const r = await json<{ data: { credentialId: string; kind: string; to: string; evidence: unknown }[] }>(await h.admin(`/admin/events?credential=${dead}&kind=state`));
    assert.ok(r.data.length >= 1);
    assert.ok(r.data.every((e) => e.credentialId === dead && e.kind === "state"));
    assert.equal(r.data[0]!.to, "retired");
  });

  it("reports usage grouped, and live stats", async () => {
    await h.client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] });
    const u = await json<{ data: { model: string; requests: number }[]; total: { requests: number } }>(await h.admin(`/admin/usage?groupBy=model,day&from=${new Date(Date.now() - 86_400_000).toISOString()}`));
    assert.ok(u.data.some((r) => r.model === "gpt-4o-mini" && r.requests >= 1));
    const s = await json<{ keys: Record<string, number>; requests: { total: number; perSecond: number }; series: unknown[] }>(await h.admin("/admin/stats"));
    assert.ok(s.requests.total >= 1);
    assert.equal(s.series.length, 60);
    assert.equal(typeof s.keys.active, "number");
    const ac = new AbortController();
    const live = await h.admin("/admin/live", { signal: ac.signal });
    assert.equal(live.headers.get("content-type"), "text/event-stream");
    const reader = live.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /^event: stats\ndata: \{/);
    ac.abort();
  });
});
