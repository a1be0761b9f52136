// Usage: requests and tokens over time — per hour for a day, per day for a month (UTC) —
// as stacked bar charts split by key, client token or model, with cost totals and a table.
import { explain } from "../api.js";
import { legend, PALETTE, stackedBars, topSeries } from "../charts.js";
import { h, notice, replace, td } from "../dom.js";
import { fmtCompact, fmtDayUtc, fmtHourUtc, fmtInt, fmtUsd } from "../format.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SPLITS = { credential: "Key", token: "Client token", model: "Model" };

const todayUtc = () => new Date().toISOString().slice(0, 10);

/** The period's bounds and buckets (ms since epoch, UTC). */
function period(kind, value) {
  if (kind === "day") {
    const from = Date.parse(`${value}T00:00:00Z`);
    return { from, to: from + DAY, group: "hour", buckets: Array.from({ length: 24 }, (_, i) => from + i * HOUR), formatX: fmtHourUtc };
  }
  const [y, m] = value.split("-").map(Number);
  const from = Date.UTC(y, m - 1, 1);
  const to = Date.UTC(y, m, 1);
  return { from, to, group: "day", buckets: Array.from({ length: Math.round((to - from) / DAY) }, (_, i) => from + i * DAY), formatX: fmtDayUtc };
}

function shift(kind, value, by) {
  if (kind === "day") return new Date(Date.parse(`${value}T00:00:00Z`) + by * DAY).toISOString().slice(0, 10);
  const [y, m] = value.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1 + by, 1)).toISOString().slice(0, 7);
}

function totalsCards(total) {
  const card = (label, value, title) => h("div", { class: "card" }, h("div", { class: "card-label" }, label), h("div", { class: "card-value", title }, value));
  return h(
    "div",
    { class: "cards" },
    card("Requests", fmtInt(total.requests)),
    card("Prompt tokens", fmtCompact(total.promptTokens), fmtInt(total.promptTokens)),
    card("Completion tokens", fmtCompact(total.completionTokens), fmtInt(total.completionTokens)),
    card("Cost", fmtUsd(total.costUsd), `$${total.costUsd}`),
  );
}

function breakdown(groups, splitLabel) {
  const rows = [...groups.values()].sort((a, b) => b.requests - a.requests || b.costUsd - a.costUsd);
  const num = (label, v) => td(label, v, "num");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data breakdown" },
      h("caption", {}, `By ${splitLabel.toLowerCase()}`),
      h("thead", {}, h("tr", {}, [splitLabel, "Requests", "Prompt tokens", "Completion tokens", "Cost"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((g) => h("tr", {}, td(splitLabel, g.name), num("Requests", fmtInt(g.requests)), num("Prompt tokens", fmtInt(g.promptTokens)), num("Completion tokens", fmtInt(g.completionTokens)), num("Cost", fmtUsd(g.costUsd)))),
      ),
    ),
  );
}

export function mount(root, { api }) {
  const state = { kind: "day", value: todayUtc(), split: "credential", seq: 0 };
  const kindSelect = h("select", { id: "u-kind", onchange: () => ((state.kind = kindSelect.value), (state.value = state.kind === "day" ? todayUtc() : todayUtc().slice(0, 7)), load()) }, h("option", { value: "day" }, "A day, per hour"), h("option", { value: "month" }, "A month, per day"));
  const dateInput = h("input", { id: "u-date", type: "date", onchange: () => dateInput.value && ((state.value = dateInput.value), load()) });
  const splitSelect = h("select", { id: "u-split", onchange: () => ((state.split = splitSelect.value), load()) }, Object.entries(SPLITS).map(([v, l]) => h("option", { value: v }, l)));
  const step = (by, text) => h("button", { type: "button", class: "ghost", "aria-label": `${text} period`, onclick: () => ((state.value = shift(state.kind, state.value, by)), load()) }, by < 0 ? "← Previous" : "Next →");
  const body = h("div", { class: "usage-body" });

  root.append(
    h("div", { class: "head" }, h("h1", {}, "Usage"), h("p", { class: "summary" }, "Metered from the upstream's usage (or counted locally when it sent none). Times in UTC.")),
    h(
      "div",
      { class: "toolbar" },
      h("div", { class: "field" }, h("label", { for: "u-kind" }, "Period"), kindSelect),
      h("div", { class: "field" }, h("label", { for: "u-date" }, "Date"), dateInput),
      h("div", { class: "field" }, h("label", { for: "u-split" }, "Split by"), splitSelect),
      h("div", { class: "row end" }, step(-1, "Previous"), step(1, "Next")),
    ),
    body,
  );

  async function names() {
    if (state.split === "credential") {
      const r = await api.get("keys?limit=1000");
      return new Map(r.data.map((k) => [k.id, k.label ? `${k.key} ${k.label}` : k.key]));
    }
    if (state.split === "token") {
      const r = await api.get("tokens");
      return new Map(r.data.map((t) => [t.id, t.name]));
    }
    return new Map();
  }

  async function load() {
    const seq = ++state.seq;
    dateInput.type = state.kind === "day" ? "date" : "month";
    dateInput.value = state.value;
    const p = period(state.kind, state.value);
    const q = new URLSearchParams({ groupBy: `${p.group},${state.split}`, from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString() });
    try {
      const [usage, nameOf] = await Promise.all([api.get(`usage?${q}`), names()]);
      if (seq !== state.seq) return;
      render(p, usage, nameOf);
    } catch (err) {
      if (seq === state.seq) replace(body, notice(explain(err), "error"));
    }
  }

  function render(p, usage, nameOf) {
    const splitKey = { credential: "credentialId", token: "tokenId", model: "model" }[state.split];
    const index = new Map(p.buckets.map((b, i) => [b, i]));
    const groups = new Map();
    for (const row of usage.data) {
      const id = row[splitKey] ?? null;
      const key = String(id);
      let g = groups.get(key);
      if (g === undefined) {
        const name = id === null ? "no client token (local caller)" : (nameOf.get(id) ?? id);
        g = { name, requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, req: p.buckets.map(() => 0), tok: p.buckets.map(() => 0) };
        groups.set(key, g);
      }
      const i = index.get(row.bucket);
      g.requests += row.requests;
      g.promptTokens += row.promptTokens;
      g.completionTokens += row.completionTokens;
      g.costUsd += row.costUsd;
      if (i !== undefined) {
        g.req[i] += row.requests;
        g.tok[i] += row.promptTokens + row.completionTokens;
      }
    }
    const when = state.kind === "day" ? `on ${state.value}` : `in ${state.value}`;
    if (groups.size === 0) {
      replace(body, totalsCards(usage.total), notice(`No usage ${when}. Requests through the gateway's /v1 appear here.`, "empty"));
      return;
    }
    // One order for both charts (by requests), so a colour means the same thing in each.
    const ranked = topSeries([...groups.values()].map((g) => ({ name: g.name, total: g.requests, req: g.req, tok: g.tok })), PALETTE, ["req", "tok"]);
    const series = (field) => ranked.map((r) => ({ name: r.name, cls: r.cls, values: r[field] }));
    const splitLabel = SPLITS[state.split];
    const chart = (title, list, fmt) => h("figure", { class: "panel chart-panel" }, h("figcaption", {}, title), stackedBars({ buckets: p.buckets, series: list, formatX: p.formatX, formatY: fmt, label: `${title} ${when}, by ${splitLabel.toLowerCase()}` }));
    replace(
      body,
      totalsCards(usage.total),
      legend(ranked),
      h("div", { class: "charts" }, chart(`Requests per ${p.group}`, series("req"), fmtCompact), chart(`Tokens per ${p.group}`, series("tok"), fmtCompact)),
      breakdown(groups, splitLabel),
    );
  }

  load();
  return { unmount: () => state.seq++ };
}
