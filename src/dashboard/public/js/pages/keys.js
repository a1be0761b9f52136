// Keys: every credential with its state and numbers, filter by state, search by label,
// add by pasting, enable / disable / remove / probe. The table follows the live feed:
// an audit event (a key changed state) or new traffic refreshes it without a reload.
import { explain } from "../api.js";
import { confirmDialog, h, notice, replace, toast } from "../dom.js";
import { fmtInt } from "../format.js";
import { addPanel } from "./keys-add.js";
import { probeAll } from "./keys-probe.js";
import { keysTable } from "./keys-table.js";

const STATES = ["active", "cooling", "quarantined", "retired", "disabled"];
const PAGE = 100;

export function mount(root, { api, feed, params }) {
  const state = { filter: params.get("state") ?? "", label: params.get("label") ?? "", offset: 0, seq: 0, lastLoad: 0, timer: 0 };

  const stateSelect = h("select", { id: "f-state", onchange: () => ((state.filter = stateSelect.value), (state.offset = 0), load()) }, h("option", { value: "" }, "All states"), STATES.map((s) => h("option", { value: s }, s)));
  stateSelect.value = state.filter;
  const search = h("input", { id: "f-label", type: "search", placeholder: "Label contains…", value: state.label, autocomplete: "off" });
  let searchTimer = 0;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => ((state.label = search.value.trim()), (state.offset = 0), load()), 250);
  });

  const summary = h("p", { class: "summary", "aria-live": "polite" });
  const addRegion = h("div");
  const probeRegion = h("section", { class: "panel", "aria-live": "polite", hidden: true });
  const tableRegion = h("div", { class: "table-region" });
  const pager = h("div", { class: "row pager" });

  const add = addPanel(api, { onAdded: () => load(), onClose: () => (replace(addRegion), addButton.focus()) });
  const addButton = h("button", { type: "button", onclick: () => (replace(addRegion, add.panel), add.focus()) }, "Add keys");
  const probeButton = h(
    "button",
    {
      type: "button",
      class: "ghost",
      onclick: () => {
        probeButton.disabled = true;
        probeRegion.hidden = false;
        void probeAll(api, probeRegion, { onChange: () => soon(), onDone: () => ((probeButton.disabled = false), load()), onClose: () => ((probeRegion.hidden = true), probeButton.focus()) });
      },
    },
    "Probe all",
  );

  root.append(
    h("div", { class: "head" }, h("h1", {}, "Keys"), summary),
    h(
      "div",
      { class: "toolbar", role: "search" },
      h("div", { class: "field" }, h("label", { for: "f-state" }, "State"), stateSelect),
      h("div", { class: "field grow" }, h("label", { for: "f-label" }, "Search by label"), search),
      h("div", { class: "row end" }, addButton, probeButton),
    ),
    addRegion,
    probeRegion,
    tableRegion,
    pager,
  );

  const on = {
    probe: async (k, btn) => {
      btn.disabled = true;
      btn.textContent = "Probing…";
      try {
        const r = await api.post(`keys/${encodeURIComponent(k.id)}/probe`);
        toast(r === null ? `${k.key}: not probed` : `${r.key}: ${r.before}${r.after === r.before ? "" : ` → ${r.after}`}. ${r.finding}`);
      } catch (err) {
        toast(explain(err), "error");
      }
      load();
    },
    enable: (k) => act(`keys/${encodeURIComponent(k.id)}/enable`, `${k.key} enabled`),
    disable: (k) => act(`keys/${encodeURIComponent(k.id)}/disable`, `${k.key} disabled`),
    remove: async (k) => {
      const yes = await confirmDialog({ title: `Remove ${k.key}?`, body: `${k.label ? `"${k.label}" will be` : "It will be"} deleted from the pool; its audit events stay. This cannot be undone.`, confirm: "Remove key", danger: true });
      if (!yes) return;
      try {
        await api.del(`keys/${encodeURIComponent(k.id)}`);
        toast(`${k.key} removed`);
      } catch (err) {
        toast(explain(err), "error");
      }
      load();
    },
  };

  async function act(path, done) {
    try {
      await api.post(path);
      toast(done);
    } catch (err) {
      toast(explain(err), "error");
    }
    load();
  }

  // Tokens per key come from the usage rollups: heavier than the key list, so fetched every 10 s at most.
  let usageCache = { at: 0, map: new Map() };
  async function usageByKey() {
    if (Date.now() - usageCache.at < 10_000) return usageCache.map;
    const usage = await api.get("usage?groupBy=credential");
    usageCache = { at: Date.now(), map: new Map(usage.data.map((u) => [u.credentialId, u])) };
    return usageCache.map;
  }

  async function load() {
    const seq = ++state.seq;
    state.lastLoad = Date.now();
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    if (state.filter) q.set("state", state.filter);
    if (state.label) q.set("label", state.label);
    try {
      const [keys, usage, stats] = await Promise.all([api.get(`keys?${q}`), usageByKey(), feed.last ?? api.get("stats")]);
      if (seq !== state.seq) return;
      render(keys, usage, stats);
    } catch (err) {
      if (seq === state.seq) replace(tableRegion, notice(explain(err), "error"));
    }
  }

  function renderSummary(stats) {
    const counts = STATES.filter((s) => stats.keys[s] > 0).map((s) => `${fmtInt(stats.keys[s])} ${s}`);
    const all = STATES.reduce((n, s) => n + (stats.keys[s] ?? 0), 0);
    summary.textContent = all === 0 ? "" : `${fmtInt(all)} keys: ${counts.join(", ")}`;
  }

  function render(keys, usage, stats) {
    renderSummary(stats);
    if (keys.total === 0) {
      const filtered = state.filter !== "" || state.label !== "";
      replace(tableRegion, notice(filtered ? "No key matches these filters." : "No keys yet. Add some: paste them with “Add keys”, or start the gateway with KEYPOOL_KEYS.", "empty"));
    } else {
      replace(tableRegion, keysTable(keys.data, { usage, poolUpstream: stats.upstream, on }));
    }
    const from = keys.total === 0 ? 0 : keys.offset + 1;
    const to = keys.offset + keys.data.length;
    replace(
      pager,
      keys.total > PAGE ? h("span", {}, `${fmtInt(from)}–${fmtInt(to)} of ${fmtInt(keys.total)}`) : null,
      keys.offset > 0 ? h("button", { type: "button", class: "ghost", "data-focus": "prev", onclick: () => ((state.offset = Math.max(0, state.offset - PAGE)), load()) }, "Previous") : null,
      to < keys.total ? h("button", { type: "button", class: "ghost", "data-focus": "next", onclick: () => ((state.offset += PAGE), load()) }, "Next") : null,
    );
  }

  /** A refresh soon, many triggers folded into one. */
  function soon(ms = 200) {
    clearTimeout(state.timer);
    state.timer = setTimeout(load, ms);
  }

  // An audit event (a state change) refreshes at once; otherwise the counters follow the
  // live ticks every 3 s while the tab is visible (the feed's stats count every request,
  // the dashboard's own included, so they cannot tell traffic from this page's reads).
  const onEvent = () => soon();
  const onStats = (e) => {
    renderSummary(e.detail);
    if (document.visibilityState === "visible" && Date.now() - state.lastLoad > 3000) soon(0);
  };
  feed.addEventListener("event", onEvent);
  feed.addEventListener("stats", onStats);
  const every = setInterval(() => !feed.connected && Date.now() - state.lastLoad > 10_000 && load(), 5000);
  replace(tableRegion, notice("Loading keys…", "loading"));
  load();

  return {
    unmount() {
      feed.removeEventListener("event", onEvent);
      feed.removeEventListener("stats", onStats);
      clearInterval(every);
      clearTimeout(state.timer);
      clearTimeout(searchTimer);
      state.seq++;
    },
  };
}
