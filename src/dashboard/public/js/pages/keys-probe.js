// Probing every key with progress as it runs: the gateway streams one NDJSON line per
// probed key, the panel shows a progress bar and the keys whose state changed.
import { explain, ndjson } from "../api.js";
import { h, notice, replace } from "../dom.js";
import { badge, fmtInt } from "../format.js";

const changeLine = (r) => h("li", {}, h("code", {}, r.key), " ", badge(r.before), " → ", badge(r.after), " ", h("span", { class: "muted" }, r.finding));

/** Runs a probe round into `region`; `onChange` after each key whose state moved, `onDone` at the end, `onClose` to dismiss. */
export async function probeAll(api, region, { onChange, onDone, onClose }) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Probe progress" });
  const label = h("span", { role: "status" }, "Starting the probe round…");
  const changes = h("ul", { class: "changes" });
  replace(region, h("h2", {}, "Probing keys"), h("div", { class: "row" }, bar, label), changes);
  try {
    const res = await api.request("keys/probe", { method: "POST", accept: "application/x-ndjson" });
    for await (const msg of ndjson(res.body)) {
      if (msg.type === "start") {
        bar.max = Math.max(1, msg.total);
        label.textContent = `0 of ${fmtInt(msg.total)} probed`;
      } else if (msg.type === "progress") {
        bar.max = Math.max(1, msg.total);
        bar.value = msg.done;
        label.textContent = `${fmtInt(msg.done)} of ${fmtInt(msg.total)} probed`;
        if (msg.result.after !== msg.result.before) {
          changes.append(changeLine(msg.result));
          onChange();
        }
      } else if (msg.type === "done") {
        const after = Object.entries(msg.after).map(([state, n]) => `${fmtInt(n)} ${state}`);
        label.textContent = `Done: ${fmtInt(msg.probed)} probed, ${fmtInt(msg.changed)} changed${after.length > 0 ? ` (now ${after.join(", ")})` : ""}.`;
        bar.value = bar.max;
      }
    }
  } catch (err) {
    region.append(notice(explain(err), "error"));
  } finally {
    region.append(h("button", { type: "button", class: "ghost small", onclick: onClose }, "Close"));
    onDone();
  }
}
