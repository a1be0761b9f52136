// Events: the audit log, newest first, filtered by key and kind, each with its evidence
// (status, error code, message excerpt). New events of this gateway arrive live on top.
import { explain } from "../api.js";
import { h, notice, replace, td } from "../dom.js";
import { badge, fmtTime, timeCell } from "../format.js";

const KINDS = ["added", "removed", "state", "updated"];
const PAGE = 50;

function evidenceCell(ev) {
  const e = ev.evidence;
  if (e === null || e === undefined) return h("span", { class: "muted" }, "—");
  const facts = [];
  if (e.status !== undefined) facts.push(h("span", { class: "fact" }, `HTTP ${e.status}`));
  if (e.code) facts.push(h("code", { class: "fact" }, e.code));
  else if (e.type) facts.push(h("code", { class: "fact" }, e.type));
  if (e.model) facts.push(h("span", { class: "fact" }, e.model));
  if (e.probe) facts.push(h("span", { class: "fact" }, `probe: ${e.probe}`));
  if (e.until) facts.push(h("span", { class: "fact" }, `until ${fmtTime(e.until)}`));
  return [h("div", { class: "facts" }, facts), e.message ? h("blockquote", { class: "excerpt" }, e.message) : null];
}

function eventRow(ev, keys) {
  const k = keys.get(ev.credentialId);
  const who = k ? [h("code", {}, k.key), k.label ? h("div", { class: "small" }, k.label) : null] : [h("code", { class: "mono small" }, ev.credentialId)];
  const change = ev.kind === "state" && ev.from !== null ? h("span", { class: "change" }, badge(ev.from), " → ", badge(ev.to)) : h("span", { class: `kind k-${ev.kind}` }, ev.kind);
  const cells = [
    ["Time", h("span", { class: "nowrap" }, timeCell(ev.time))],
    ["Key", [who, h("div", { class: "small muted mono", title: "HMAC fingerprint of the key" }, ev.fingerprint.slice(0, 12))]],
    ["Change", change],
    ["Reason", ev.reason],
    ["Evidence", evidenceCell(ev)],
    ["Instance", h("span", { class: "small muted" }, ev.instance)],
  ];
  return h("tr", { "data-id": ev.id, "data-kind": ev.kind, "data-key": ev.credentialId }, cells.map(([label, c]) => td(label, c)));
}

export function mount(root, { api, feed, params }) {
  const state = { key: params.get("key") ?? "", kind: params.get("kind") ?? "", oldest: null, seq: 0, keys: new Map() };
  const keySelect = h("select", { id: "f-key", onchange: () => ((state.key = keySelect.value), syncHash(), load()) }, h("option", { value: "" }, "All keys"));
  const kindSelect = h("select", { id: "f-kind", onchange: () => ((state.kind = kindSelect.value), syncHash(), load()) }, h("option", { value: "" }, "All kinds"), KINDS.map((k) => h("option", { value: k }, k)));
  kindSelect.value = state.kind;
  const tbody = h("tbody");
  const table = h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "data events" }, h("caption", { class: "sr-only" }, "Audit events, newest first"), h("thead", {}, h("tr", {}, ["Time", "Key", "Change", "Reason", "Evidence", "Instance"].map((c) => h("th", { scope: "col" }, c)))), tbody),
  );
  const region = h("div", { class: "table-region" });
  const more = h("button", { type: "button", class: "ghost", hidden: true, onclick: () => load(true) }, "Load older events");

  root.append(
    h("div", { class: "head" }, h("h1", {}, "Events"), h("p", { class: "summary" }, "Every change of a key: which key, from, to, why, and what the upstream answered.")),
    h(
      "div",
      { class: "toolbar", role: "search" },
      h("div", { class: "field grow" }, h("label", { for: "f-key" }, "Key"), keySelect),
      h("div", { class: "field" }, h("label", { for: "f-kind" }, "Kind"), kindSelect),
    ),
    region,
    h("div", { class: "row pager" }, more),
  );

  // Filters live in the hash, so a filtered view can be linked (`#/events?key=ID`).
  function syncHash() {
    const q = new URLSearchParams();
    if (state.key) q.set("key", state.key);
    if (state.kind) q.set("kind", state.kind);
    history.replaceState(null, "", `#/events${q.size > 0 ? `?${q}` : ""}`);
  }

  async function loadKeys() {
    try {
      const r = await api.get("keys?limit=1000");
      state.keys = new Map(r.data.map((k) => [k.id, k]));
      const ids = new Set(state.keys.keys());
      if (state.key && !ids.has(state.key)) keySelect.append(h("option", { value: state.key }, `${state.key} (removed)`));
      for (const k of r.data) keySelect.append(h("option", { value: k.id }, k.label ? `${k.key} — ${k.label}` : k.key));
      keySelect.value = state.key;
    } catch {
      // the events still load; keys show by id
    }
  }

  async function load(older = false) {
    const seq = ++state.seq;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (state.key) q.set("credential", state.key);
    if (state.kind) q.set("kind", state.kind);
    if (older && state.oldest) q.set("before", state.oldest);
    try {
      const r = await api.get(`events?${q}`);
      if (seq !== state.seq) return;
      if (!older) tbody.replaceChildren();
      for (const ev of r.data) tbody.append(eventRow(ev, state.keys));
      state.oldest = r.data.at(-1)?.id ?? state.oldest;
      more.hidden = r.data.length < PAGE;
      if (tbody.children.length === 0) replace(region, notice(state.key || state.kind ? "No events match these filters." : "No events yet: they appear when keys are added, change state, or are removed.", "empty"));
      else if (!region.contains(table)) replace(region, table);
    } catch (err) {
      if (seq === state.seq) replace(region, notice(explain(err), "error"));
    }
  }

  const onEvent = (e) => {
    const ev = e.detail;
    if ((state.key && ev.credentialId !== state.key) || (state.kind && ev.kind !== state.kind)) return;
    const row = eventRow(ev, state.keys);
    row.classList.add("fresh");
    tbody.prepend(row);
    if (!region.contains(table)) replace(region, table);
  };
  feed.addEventListener("event", onEvent);
  replace(region, notice("Loading events…", "loading"));
  void loadKeys().then(() => load());

  return {
    unmount() {
      feed.removeEventListener("event", onEvent);
      state.seq++;
    },
  };
}
