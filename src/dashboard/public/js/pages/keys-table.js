// The keys table: one row per credential, the actions as real buttons. Each cell carries
// its column name (`data-label`) so the phone layout can show rows as labelled cards.
import { h, td } from "../dom.js";
import { badge, fmtCompact, fmtInt, fmtRelative, fmtShortTime, fmtTime, fmtUsd, timeCell } from "../format.js";

const COLUMNS = ["Key", "Label", "Upstream", "State", "Requests", "Tokens", "Cost", "Last used", "Rate limit left", "Actions"];

const host = (url) => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

function upstreamCell(k, poolUpstream) {
  if (k.baseURL !== null) return h("span", { title: k.baseURL }, host(k.baseURL));
  return h("span", { class: "muted", title: poolUpstream ?? "the pool's upstream" }, poolUpstream ? host(poolUpstream) : "pool default");
}

function stateCell(k) {
  const now = Date.now();
  const when = k.state === "cooling" && k.coolUntil > now ? `back ${fmtRelative(k.coolUntil, now)}` : `since ${fmtShortTime(k.since)}`;
  return [
    badge(k.state),
    k.reason ? h("div", { class: "reason" }, k.reason) : null,
    h("div", { class: "small muted" }, h("time", { datetime: new Date(k.since).toISOString(), title: fmtTime(k.since) }, when)),
    h("a", { class: "small", href: `#/events?key=${encodeURIComponent(k.id)}`, "data-focus": `events:${k.id}`, "aria-label": `Events of ${k.key}${k.label ? ` (${k.label})` : ""}` }, "Events →"),
  ];
}

function rateLimitCell(rl) {
  if (rl === null || rl === undefined) return h("span", { class: "muted", title: "not known yet: the upstream tells it with each answer" }, "—");
  const line = (left, limit, unit) => (left === null ? null : h("div", { class: "nowrap" }, `${fmtCompact(left)}${limit === null ? "" : ` / ${fmtCompact(limit)}`} ${unit}`));
  const reset = rl.resetAt !== null && rl.resetAt > Date.now() ? `, resets ${fmtRelative(rl.resetAt)}` : "";
  return h("div", { title: `left for ${rl.model || "requests without a model"}, seen ${fmtRelative(rl.at)}${reset}` }, line(rl.remainingRequests, rl.limitRequests, "req"), line(rl.remainingTokens, rl.limitTokens, "tok"));
}

function tokensCell(u) {
  if (u === undefined) return h("span", { class: "muted" }, "0");
  return h("span", { title: `${fmtInt(u.promptTokens)} prompt + ${fmtInt(u.completionTokens)} completion` }, fmtCompact(u.promptTokens + u.completionTokens));
}

function actions(k, on) {
  const name = k.label ? `${k.key} (${k.label})` : k.key;
  const btn = (verb, label, handler, cls = "small") =>
    h("button", { type: "button", class: cls, "data-focus": `${verb}:${k.id}`, "aria-label": `${label} ${name}`, onclick: (e) => handler(k, e.currentTarget) }, label);
  return h(
    "div",
    { class: "actions" },
    btn("probe", "Probe", on.probe),
    // One switch: what is serving (or about to) can be disabled; what is out can be put back.
    k.state === "active" || k.state === "cooling" ? btn("disable", "Disable", on.disable) : btn("enable", "Enable", on.enable),
    btn("remove", "Remove", on.remove, "small danger"),
  );
}

/** The table for `keys`; `usage` maps a key id to its usage row, `on` holds the action handlers. */
export function keysTable(keys, { usage, poolUpstream, on }) {
  const row = (k) => {
    const cells = [
      h("code", { class: "key", title: `id ${k.id}` }, k.key),
      k.label ? k.label : h("span", { class: "muted" }, "—"),
      upstreamCell(k, poolUpstream),
      stateCell(k),
      [fmtInt(k.requests), k.failures > 0 ? h("div", { class: "small muted" }, `${fmtInt(k.failures)} failed`) : null],
      tokensCell(usage.get(k.id)),
      [fmtUsd(k.spentUsd), k.budgetUsd !== null ? h("div", { class: "small muted" }, `of ${fmtUsd(k.budgetUsd)}`) : null],
      timeCell(k.lastUsedAt),
      rateLimitCell(k.rateLimit),
      actions(k, on),
    ];
    return h("tr", { "data-id": k.id, "data-state": k.state }, cells.map((c, i) => td(COLUMNS[i], c, i >= 4 && i <= 6 ? "num" : null)));
  };
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "data keys" }, h("caption", { class: "sr-only" }, "Credentials in the pool"), h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, keys.map(row))),
  );
}
