// Live: request rate, error rate and keys per state, from the gateway's `/admin/live`
// stream (a tick every second), and the audit events as they happen. No reload, no polling.
import { explain } from "../api.js";
import { legend, stackedBars } from "../charts.js";
import { h, notice, replace } from "../dom.js";
import { badge, fmtInt, fmtPercent, timeCell } from "../format.js";

const STATES = ["active", "cooling", "quarantined", "retired", "disabled"];
const RECENT = 12;

const clock = (ms) => new Date(ms).toLocaleTimeString();

function card(label) {
  const value = h("div", { class: "card-value" }, "—");
  const sub = h("div", { class: "card-sub muted" });
  return { el: h("div", { class: "card" }, h("div", { class: "card-label" }, label), value, sub), value, sub };
}

function uptime(s) {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function statesBar(keys) {
  const total = STATES.reduce((n, s) => n + (keys[s] ?? 0), 0);
  const bar = h("div", { class: "states-bar", role: "img", "aria-label": STATES.map((s) => `${keys[s] ?? 0} ${s}`).join(", ") });
  for (const s of STATES) {
    if (!keys[s]) continue;
    const seg = h("div", { class: `seg s-${s}`, title: `${keys[s]} ${s}` });
    seg.style.flexGrow = String(keys[s]);
    bar.append(seg);
  }
  const list = h(
    "ul",
    { class: "states-list" },
    STATES.map((s) => h("li", {}, h("a", { href: `#/keys?state=${s}` }, badge(s), " ", h("strong", { "data-state-count": s }, fmtInt(keys[s] ?? 0))))),
  );
  return total === 0 ? [notice("No keys in the pool yet.", "empty"), list] : [bar, list];
}

function eventItem(ev, keys) {
  const k = keys.get(ev.credentialId);
  const who = k ? [h("code", {}, k.key), k.label ? ` ${k.label}` : null] : h("code", { class: "small" }, ev.credentialId);
  const change = ev.kind === "state" && ev.from !== null ? [badge(ev.from), " → ", badge(ev.to)] : [h("span", { class: `kind k-${ev.kind}` }, ev.kind)];
  const status = ev.evidence?.status;
  return h(
    "li",
    { class: "event-item" },
    h("div", {}, timeCell(ev.time), " · ", who),
    h("div", {}, change, " ", h("span", { class: "muted" }, ev.reason), status !== undefined ? [" ", h("span", { class: "fact" }, `HTTP ${status}`)] : null),
  );
}

export function mount(root, { api, feed }) {
  const rate = card("Requests / s (last minute)");
  const errors = card("Error rate (last minute)");
  const inflight = card("In flight");
  const total = card("Requests since start");
  const chart = stackedBars({ buckets: [], series: [], formatX: clock, formatY: fmtInt, label: "Requests per second, last minute" });
  const states = h("div", { class: "states" });
  const recent = h("ol", { class: "events-list", "aria-live": "polite" });
  const status = h("p", { class: "summary" }, "Connecting to the live stream…");

  root.append(
    h("div", { class: "head" }, h("h1", {}, "Live"), status),
    h("div", { class: "cards" }, rate.el, errors.el, inflight.el, total.el),
    h("section", { class: "panel chart-panel", "aria-labelledby": "live-rate" }, h("h2", { id: "live-rate" }, "Requests per second, last minute"), legend([{ name: "answered", cls: "c-ok" }, { name: "errors (status ≥ 400)", cls: "c-err" }]), chart),
    h("div", { class: "split" }, h("section", { class: "panel", "aria-labelledby": "live-keys" }, h("h2", { id: "live-keys" }, "Keys per state"), states), h("section", { class: "panel", "aria-labelledby": "live-events" }, h("h2", { id: "live-events" }, "Latest events"), recent)),
  );

  function onStats(e) {
    const st = e.detail;
    const r = st.requests;
    rate.value.textContent = r.perSecond.toFixed(r.perSecond < 10 ? 2 : 0);
    rate.sub.textContent = `${fmtInt(r.lastMinute)} in the last minute`;
    errors.value.textContent = fmtPercent(r.errorRate);
    errors.sub.textContent = `${fmtInt(r.errorsLastMinute)} errors in the last minute`;
    errors.el.classList.toggle("alarm", r.errorRate >= 0.05);
    inflight.value.textContent = fmtInt(st.inflight);
    total.value.textContent = fmtInt(r.total);
    total.sub.textContent = `${fmtInt(r.errors)} errors, up ${uptime(st.uptimeS)}`;
    chart.update({
      buckets: st.series.map((p) => p.t),
      series: [
        { name: "answered", cls: "c-ok", values: st.series.map((p) => p.requests - p.errors) },
        { name: "errors", cls: "c-err", values: st.series.map((p) => p.errors) },
      ],
      formatX: clock,
      formatY: fmtInt,
      label: `Requests per second over the last minute: ${fmtInt(r.lastMinute)} requests, ${fmtInt(r.errorsLastMinute)} errors`,
    });
    replace(states, statesBar(st.keys));
    status.textContent = `Updated ${clock(st.time)} · instance ${st.instance} · keypool ${st.version}`;
  }

  // Events by id (ids are time-ordered): the first page and the stream's may overlap.
  let keys = new Map();
  const shown = new Map();
  function renderEvents() {
    const latest = [...shown.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, RECENT);
    shown.clear();
    for (const ev of latest) shown.set(ev.id, ev);
    replace(recent, latest.length === 0 ? h("li", { class: "muted" }, "No events yet.") : latest.map((ev) => eventItem(ev, keys)));
  }
  function onEvent(e) {
    shown.set(e.detail.id, e.detail);
    renderEvents();
  }

  feed.addEventListener("stats", onStats);
  feed.addEventListener("event", onEvent);
  if (feed.last !== null) onStats({ detail: feed.last });
  Promise.all([api.get("keys?limit=1000"), api.get(`events?limit=${RECENT}`)]).then(
    ([list, r]) => {
      keys = new Map(list.data.map((k) => [k.id, k]));
      for (const ev of r.data) shown.set(ev.id, ev);
      renderEvents();
    },
    (err) => replace(recent, h("li", { class: "error" }, explain(err))),
  );

  return {
    unmount() {
      feed.removeEventListener("stats", onStats);
      feed.removeEventListener("event", onEvent);
    },
  };
}
