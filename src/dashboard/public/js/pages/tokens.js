// Client tokens: create one (its secret shown once, with a copy button), list, revoke.
import { explain } from "../api.js";
import { confirmDialog, h, notice, replace, td, toast } from "../dom.js";
import { fmtCompact, fmtInt, timeCell } from "../format.js";

/** Token states in the key states' colours. */
const TOKEN_BADGE = { active: "s-active", expired: "s-cooling", revoked: "s-retired" };
const optional = (v) => (v.trim() === "" ? undefined : v.trim());

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** The one time a token's secret is on screen. */
function createdBox(created, onDismiss) {
  const field = h("input", { id: "new-token", type: "text", readonly: true, value: created.token, class: "mono", spellcheck: "false", "aria-describedby": "new-token-note" });
  const copyButton = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        const ok = await copy(created.token);
        if (!ok) field.select();
        copyButton.textContent = ok ? "Copied" : "Press Ctrl+C";
        toast(ok ? "Token copied to the clipboard." : "Copy it by hand: the text is selected.");
      },
    },
    "Copy",
  );
  const box = h(
    "section",
    { class: "panel created", "aria-labelledby": "created-title" },
    h("h2", { id: "created-title" }, `Token “${created.name}” created`),
    h("p", { id: "new-token-note" }, "Copy it now: it is shown this once. The gateway keeps only a hash and cannot show it again."),
    h("div", { class: "row" }, h("label", { for: "new-token", class: "sr-only" }, "New client token"), field, copyButton),
    h("button", { type: "button", class: "ghost", onclick: onDismiss }, "Done, hide it"),
  );
  return { box, focus: () => (field.focus(), field.select()) };
}

function tokensTable(list, onRevoke) {
  const columns = ["Name", "Token", "State", "Models", "Tokens used", "RPM", "Expires", "Created", "Last used", ""];
  const row = (t) => {
    const quota = t.quotaTokens === null ? fmtCompact(t.usedTokens) : `${fmtCompact(t.usedTokens)} of ${fmtCompact(t.quotaTokens)}`;
    const cells = [
      h("strong", {}, t.name),
      h("code", {}, t.hint),
      h("span", { class: `badge ${TOKEN_BADGE[t.state]}` }, t.state),
      t.models === null ? h("span", { class: "muted" }, "all") : t.models.join(", "),
      quota,
      t.rpm === null ? h("span", { class: "muted" }, "—") : fmtInt(t.rpm),
      t.expiresAt === null ? h("span", { class: "muted" }, "never") : timeCell(t.expiresAt),
      timeCell(t.createdAt),
      timeCell(t.lastUsedAt),
      t.state === "revoked" ? h("span", { class: "muted small" }, "revoked") : h("button", { type: "button", class: "small danger", "data-focus": `revoke:${t.id}`, "aria-label": `Revoke ${t.name}`, onclick: () => onRevoke(t) }, "Revoke"),
    ];
    return h("tr", { "data-id": t.id, "data-state": t.state }, cells.map((c, i) => td(columns[i] || "Actions", c)));
  };
  return h("div", { class: "table-wrap" }, h("table", { class: "data tokens" }, h("caption", { class: "sr-only" }, "Client tokens"), h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c || h("span", { class: "sr-only" }, "Actions"))))), h("tbody", {}, list.map(row))));
}

export function mount(root, { api }) {
  let seq = 0;
  const name = h("input", { id: "t-name", required: true, maxlength: 200, autocomplete: "off", placeholder: "my-app" });
  const models = h("input", { id: "t-models", autocomplete: "off", placeholder: "gpt-4o-mini, gpt-4o" });
  const quota = h("input", { id: "t-quota", type: "number", min: 1, step: 1, inputmode: "numeric" });
  const rpm = h("input", { id: "t-rpm", type: "number", min: 1, step: 1, inputmode: "numeric" });
  const expires = h("input", { id: "t-expires", autocomplete: "off", placeholder: "30d, 2026-12-31" });
  const formError = h("p", { class: "error", role: "alert", hidden: true });
  const createdRegion = h("div");
  const listRegion = h("div", { class: "table-region" });
  const submit = h("button", { type: "submit" }, "Create token");
  const field = (id, label, input, hint) => h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { class: "muted" }, hint) : null);

  const form = h(
    "form",
    { class: "panel token-form", "aria-labelledby": "t-title", onsubmit: (e) => void create(e) },
    h("h2", { id: "t-title" }, "New client token"),
    h("div", { class: "fields" }, field("t-name", "Name", name), field("t-models", "Models", models, "comma-separated; empty = all"), field("t-quota", "Token quota", quota, "empty = unlimited"), field("t-rpm", "Requests per minute", rpm, "empty = unlimited"), field("t-expires", "Expires", expires, "empty = never")),
    h("div", { class: "row" }, submit),
    formError,
  );

  root.append(h("div", { class: "head" }, h("h1", {}, "Tokens"), h("p", { class: "summary" }, "Client tokens let apps call the gateway's /v1 API. Each is shown once, when it is created.")), createdRegion, form, listRegion);

  async function create(e) {
    e.preventDefault();
    formError.hidden = true;
    const body = { name: name.value.trim() };
    const m = optional(models.value);
    if (m !== undefined) body.models = m.split(",").map((x) => x.trim()).filter(Boolean);
    if (optional(quota.value) !== undefined) body.quotaTokens = Number(quota.value);
    if (optional(rpm.value) !== undefined) body.rpm = Number(rpm.value);
    if (optional(expires.value) !== undefined) body.expiresAt = expires.value.trim();
    submit.disabled = true;
    try {
      const created = await api.post("tokens", body);
      form.reset();
      const shown = createdBox(created, () => (replace(createdRegion), name.focus()));
      replace(createdRegion, shown.box);
      shown.focus();
      load();
    } catch (err) {
      formError.textContent = explain(err);
      formError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  }

  async function revoke(t) {
    const yes = await confirmDialog({ title: `Revoke “${t.name}”?`, body: "Apps using this token are refused from now on (within a second on every gateway). This cannot be undone.", confirm: "Revoke token", danger: true });
    if (!yes) return;
    try {
      await api.del(`tokens/${encodeURIComponent(t.id)}`);
      toast(`Token “${t.name}” revoked`);
    } catch (err) {
      toast(explain(err), "error");
    }
    load();
  }

  async function load() {
    const mine = ++seq;
    try {
      const r = await api.get("tokens");
      if (mine !== seq) return;
      const list = r.data.sort((a, b) => (a.state === "revoked") - (b.state === "revoked") || b.createdAt - a.createdAt);
      replace(listRegion, list.length === 0 ? notice("No client tokens yet. While there are none, a gateway on 127.0.0.1 serves local callers without one.", "empty") : tokensTable(list, revoke));
    } catch (err) {
      if (mine === seq) replace(listRegion, notice(explain(err), "error"));
    }
  }

  replace(listRegion, notice("Loading tokens…", "loading"));
  load();
  return { unmount: () => seq++ };
}
