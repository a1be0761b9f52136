/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against a gateway on the simulator, all on 127.0.0.1. One page walks
 * through it in order: sign-in, keys, adding, a key retiring under traffic,
 * its event, usage, live, tokens, the phone layout, sign-out.
 * `KEYPOOL_SCREENSHOTS=docs` saves the README's screenshots into docs/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ADMIN, key } from "../gateway/helpers.ts";
import { KEYS, launchChromium, screenshotDir, seedHistory, startFixture, trafficUntil, type Fixture } from "./fixture.ts";

const row = (id: string) => `table.keys tr[data-id="${id}"]`;

describe("dashboard in Chromium", { timeout: 60_000 }, () => {
  let f: Fixture;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let url: string;
  const shots = screenshotDir();
  const problems: string[] = [];
  const PASTED = key("pasted");

  const shot = async (name: string): Promise<void> => {
    // No transient toast in a screenshot.
    await page.evaluate(() => document.getElementById("toast")!.classList.remove("show"));
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots.dir, `dashboard-${name}.png`) });
  };
  const text = (selector: string): Promise<string> => page.locator(selector).first().innerText();

  before(async () => {
    f = await startFixture();
    f.h.sim.setKey(PASTED, "ok");
    // A little traffic from both client tokens before anyone looks.
    for (let i = 0; i < 6; i++) assert.equal(await f.call(i % 2 === 0 ? f.tokens.web : f.tokens.batch, i % 3 === 0 ? "gpt-4o" : "gpt-4o-mini"), 200);
    if (process.env.KEYPOOL_SCREENSHOTS) await seedHistory(f);
    url = `${f.h.gw.url}/dashboard/`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light", locale: "en-US", timezoneId: "UTC" });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: f.h.gw.url });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      // A refused token shows as a failed load in the console: expected. CSP violations and script errors are not.
      if (msg.type() === "error" && !/Failed to load resource: the server responded with a status of 40[13]/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await f?.close();
    shots.cleanup();
  });

  it("refuses a wrong admin token with a clear message, keeping nothing", async () => {
    await page.goto(url.replace(/\/$/, "")); // /dashboard redirects to /dashboard/
    assert.equal(page.url(), url);
    await page.locator("#admin-token").fill("not-the-admin-token-0123");
    await page.locator("#login-form button").click();
    await page.locator("#login-error").waitFor();
    assert.match(await text("#login-error"), /refused this admin token/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.locator("#nav").isVisible(), false);
  });

  it("signs in from the keyboard; the token stays out of the URL and the page shows masked keys only", async () => {
    await page.locator("#admin-token").focus();
    await page.keyboard.type(ADMIN);
    await page.keyboard.press("Enter");
    await page.locator("table.keys tbody tr").nth(4).waitFor();
    assert.equal(await page.locator("table.keys tbody tr").count(), 5);
    assert.ok(!page.url().includes(ADMIN));
    assert.equal(await page.evaluate(() => sessionStorage.getItem("keypool.adminToken")), ADMIN);
    assert.match(await text(row(f.ids.alpha)), /sk-alpha-…0001/);
    assert.match(await text(row(f.ids.alpha)), /team-a primary/);
    const html = await page.content();
    for (const secret of Object.values(KEYS)) assert.ok(!html.includes(secret), "a whole key on the page");
    // Traffic already ran: the keys show its requests (attempts: the out-of-quota key's failure was retried elsewhere).
    const requests = await page.locator('table.keys td[data-label="Requests"]').allInnerTexts();
    assert.ok(requests.reduce((n, t) => n + Number.parseInt(t, 10), 0) >= 6, requests.join());
    assert.match(await text(`${row(f.ids.quota)} td[data-label="State"]`), /quarantined\s+insufficient_quota/);
    await page.locator("#f-label").fill("team-a");
    await page.waitForFunction(() => document.querySelectorAll("table.keys tbody tr").length === 2);
    await page.locator("#f-label").fill("");
    await page.waitForFunction(() => document.querySelectorAll("table.keys tbody tr").length === 5);
  });

  it("adds keys pasted many at once, with a result per line", async () => {
    await page.getByRole("button", { name: "Add keys" }).click();
    await page.locator("#add-text").fill([`${PASTED} pasted key`, KEYS.alpha, "short", PASTED, "# a comment"].join("\n"));
    await page.locator("#add-text").press("Tab");
    await page.locator("form button[type=submit]", { hasText: "Add keys" }).click();
    await page.locator(".add-results tr[data-line]").nth(3).waitFor();
    const results = await page.locator(".add-results tr[data-line]").evaluateAll((rows) => rows.map((r) => `${(r as HTMLElement).dataset.line}:${(r as HTMLElement).dataset.status}`));
    assert.deepEqual(results, ["1:added", "2:duplicate", "3:malformed", "4:duplicate"]);
    assert.match(await text(".add-results .summary"), /1 added, 2 duplicate, 1 malformed/);
    assert.equal(await page.locator("#add-text").inputValue(), "", "pasted secrets are cleared once sent");
    assert.ok(!(await page.content()).includes(PASTED));
    const pasted = f.h.pool.get(PASTED)!.id;
    await page.locator(row(pasted)).waitFor();
    assert.match(await text(row(pasted)), /pasted key/);
    await page.getByRole("button", { name: "Close" }).click();
  });

  it("disables, enables, probes, and removes a key only after confirming", async () => {
    const pasted = f.h.pool.get(PASTED)!.id;
    await page.getByRole("button", { name: "Disable sk-pasted-…0001 (pasted key)" }).click();
    await page.locator(`${row(pasted)}[data-state="disabled"]`).waitFor();
    await page.getByRole("button", { name: "Enable sk-pasted-…0001 (pasted key)" }).click();
    await page.locator(`${row(pasted)}[data-state="active"]`).waitFor();
    await page.getByRole("button", { name: "Remove sk-pasted-…0001 (pasted key)" }).click();
    await page.locator("dialog[open]").waitFor();
    await page.keyboard.press("Escape");
    await page.locator("dialog").waitFor({ state: "detached" });
    assert.equal(await page.locator(row(pasted)).count(), 1, "Escape keeps the key");
    await page.getByRole("button", { name: "Remove sk-pasted-…0001 (pasted key)" }).click();
    await page.getByRole("button", { name: "Remove key" }).click();
    await page.locator(row(pasted)).waitFor({ state: "detached" });
    assert.equal(f.h.pool.get(PASTED), null);

    await page.getByRole("button", { name: "Probe all" }).click();
    await page.getByText(/^Done: \d+ probed/).waitFor();
    const bar = await page.locator("progress").evaluate((p) => [(p as HTMLProgressElement).value, (p as HTMLProgressElement).max]);
    assert.equal(bar[0], bar[1]);
    await page.getByRole("button", { name: "Close" }).click();
    assert.ok(await page.getByRole("button", { name: "Probe all" }).evaluate((b) => b === document.activeElement), "focus back on the button");
  });

  it("shows a key going from active to retired while traffic runs, without a reload", async () => {
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    assert.equal(await page.locator(`${row(f.ids.charlie)}[data-state="active"]`).count(), 1);
    f.h.sim.setKey(KEYS.charlie, "invalid");
    const retired = page.locator(`${row(f.ids.charlie)}[data-state="retired"]`).waitFor({ timeout: 15_000 });
    let i = 0;
    const calls = await trafficUntil(retired, () => f.call(i++ % 2 === 0 ? f.tokens.web : f.tokens.batch, i % 4 === 0 ? "gpt-4o" : "gpt-4o-mini"));
    assert.ok(calls > 0);
    await retired;
    assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, "the page was not reloaded");
    assert.match(await text(row(f.ids.charlie)), /invalid_api_key|invalid/i);
    // A little more traffic (and a client with a wrong token) for the usage and live views.
    for (let j = 0; j < 12; j++) await f.call(j % 2 === 0 ? f.tokens.web : f.tokens.batch, j % 3 === 0 ? "gpt-4o" : "gpt-4o-mini");
    for (let j = 0; j < 3; j++) assert.equal(await f.call("kp-wrong-token"), 401);
    await page.waitForTimeout(3200); // the next refresh carries the new counts
    await shot("keys");
  });

  it("reads the retired key's event with its evidence", async () => {
    await page.locator(`a[href="#/events?key=${f.ids.charlie}"]`).click();
    const first = page.locator('table.events tbody tr[data-kind="state"]').first();
    await first.waitFor();
    assert.ok(page.url().endsWith(`#/events?key=${f.ids.charlie}`));
    const keys = await page.locator("table.events tbody tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.key));
    assert.ok(keys.length >= 2 && keys.every((k) => k === f.ids.charlie));
    const t = await first.innerText();
    assert.match(t, /active\s*→\s*retired/);
    assert.match(t, /HTTP 401/);
    assert.match(t, /invalid_api_key/);
    assert.ok((await first.locator(".excerpt").innerText()).length > 10, "a message excerpt");
    assert.match(t, /sk-charlie-…0001/);
    await page.locator("#f-kind").selectOption("added");
    await page.waitForFunction(() => [...document.querySelectorAll("table.events tbody tr")].every((r) => (r as HTMLElement).dataset.kind === "added"));
    assert.ok(page.url().endsWith("kind=added"));
    await page.locator("#f-key").selectOption("");
    await page.locator("#f-kind").selectOption("");
    await page.locator('table.events tbody tr[data-kind="state"]').nth(1).waitFor();
    await shot("events");
  });

  it("charts usage over time, split by key, client token and model, with cost totals", async () => {
    await page.getByRole("link", { name: "Usage" }).click();
    await page.locator("svg.chart rect.bar").first().waitFor();
    const requests = Number((await text(".cards .card-value")).replace(/,/g, ""));
    assert.ok(requests >= 18, `requests ${requests}`);
    assert.match(await page.locator(".cards .card").nth(3).innerText(), /Cost\s*\$0\.\d+/);
    assert.equal(await page.locator("svg.chart").count(), 2);
    assert.match(await text(".legend"), /sk-alpha-…0001/);
    await page.locator("#u-split").selectOption("token");
    await page.waitForFunction(() => /web-app/.test(document.querySelector(".legend")?.textContent ?? ""));
    assert.match(await text(".legend"), /batch/);
    await page.locator("#u-split").selectOption("model");
    await page.waitForFunction(() => /gpt-4o-mini/.test(document.querySelector(".legend")?.textContent ?? ""));
    await page.locator("#u-kind").selectOption("month");
    await page.waitForFunction(() => document.querySelector("#u-date")?.getAttribute("type") === "month");
    await page.locator("svg.chart rect.bar").first().waitFor();
    await page.getByRole("button", { name: "Previous period" }).click();
    await page.getByText(/^No usage in \d{4}-\d{2}/).waitFor();
    await page.locator("#u-kind").selectOption("day");
    await page.locator("#u-split").selectOption("credential");
    await page.locator("svg.chart rect.bar").first().waitFor();
    await shot("usage");
  });

  it("shows request rate, error rate and keys per state, live", async () => {
    await page.getByRole("link", { name: "Live" }).click();
    await page.locator('[data-state-count="retired"]').waitFor();
    const stop = new Promise((r) => setTimeout(r, 2500));
    let i = 0;
    // Traffic while watching: the numbers move without a reload; a wrong token now and then counts as an error.
    const traffic = trafficUntil(stop, () => f.call(i++ % 7 === 0 ? "kp-wrong-token" : f.tokens.web), 2);
    const shown = await text(".cards .card:nth-child(4) .card-value");
    await page.waitForFunction((b) => document.querySelector(".cards .card:nth-child(4) .card-value")?.textContent !== b, shown);
    await traffic;
    await page.waitForTimeout(1100);
    assert.equal(await text('[data-state-count="retired"]'), "1");
    assert.match(await text(".cards .card:nth-child(2) .card-value"), /^[1-9]\d*(\.\d)?%$/);
    assert.ok((await page.locator("svg.chart rect.c-ok").count()) > 0);
    assert.ok((await page.locator("svg.chart rect.c-err").count()) > 0);
    assert.match(await text("#conn"), /live/);
    await shot("live");
  });

  it("creates a client token shown once with a copy button, and revokes it", async () => {
    await page.getByRole("link", { name: "Tokens" }).click();
    await page.locator('table.tokens tr[data-state="active"]').first().waitFor();
    await page.locator("#t-name").fill("ci-runner");
    await page.locator("#t-rpm").fill("120");
    await page.getByRole("button", { name: "Create token" }).click();
    const field = page.locator("#new-token");
    await field.waitFor();
    const token = await field.inputValue();
    assert.match(token, /^kp-[\w-]{40,}$/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    const models = await fetch(`${f.h.gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(models.status, 200);
    await page.getByRole("button", { name: "Done, hide it" }).click();
    await field.waitFor({ state: "detached" });
    assert.ok(!(await page.content()).includes(token), "shown once: gone from the page");
    const created = page.locator("table.tokens tr", { hasText: "ci-runner" });
    assert.match(await created.innerText(), new RegExp(`kp-…${token.slice(-4)}`));
    await page.getByRole("button", { name: "Revoke ci-runner" }).click();
    await page.getByRole("button", { name: "Revoke token" }).click();
    await page.locator('table.tokens tr[data-state="revoked"]', { hasText: "ci-runner" }).waitFor();
    const refused = await fetch(`${f.h.gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 401);
    await shot("tokens");
  });

  it("reads on a phone: the keys table becomes labelled cards, nothing overflows sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("link", { name: "Keys" }).click();
    await page.locator(row(f.ids.alpha)).waitFor();
    const label = await page.locator(`${row(f.ids.alpha)} td`).first().evaluate((td) => getComputedStyle(td, "::before").content);
    assert.equal(label, '"Key"');
    const wide = await page.evaluate(() => [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > 391).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)} ${(e.textContent ?? "").slice(0, 60)}`));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), `no sideways scroll: ${wide.join("\n")}`);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots.dir, "dashboard-keys-phone.png") });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("signs out, and a stale token in the tab sends back to sign-in with the reason", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.locator("#login").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.locator("table.keys").count(), 0);
    await page.evaluate(() => sessionStorage.setItem("keypool.adminToken", "a-stale-token-0123456789"));
    await page.reload();
    await page.locator("#login-error").waitFor();
    assert.match(await text("#login-error"), /refused this admin token/);
    assert.deepEqual(problems, [], problems.join("\n"));
  });
});
