// Adding keys by pasting many lines at once; the gateway answers with a result per line
// (added, duplicate, malformed) and the panel lists them. Keys come back masked.
import { explain } from "../api.js";
import { h, notice, replace, td } from "../dom.js";
import { fmtInt } from "../format.js";

const STATUS_CLASS = { added: "s-active", duplicate: "s-cooling", malformed: "s-retired" };

function resultList(report) {
  const summary = `${fmtInt(report.added)} added, ${fmtInt(report.duplicates)} duplicate, ${fmtInt(report.malformed)} malformed`;
  return [
    h("p", { class: "summary", role: "status" }, summary),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data results" },
        h("caption", { class: "sr-only" }, "Result per pasted line"),
        h("thead", {}, h("tr", {}, ["Line", "Key", "Result", "Detail"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          report.results.map((r) =>
            h(
              "tr",
              { "data-line": r.line, "data-status": r.status },
              td("Line", r.line, "num"),
              td("Key", r.key ? h("code", {}, r.key) : h("span", { class: "muted" }, "—")),
              td("Result", h("span", { class: `badge ${STATUS_CLASS[r.status]}` }, r.status)),
              td("Detail", r.message ?? ""),
            ),
          ),
        ),
      ),
    ),
  ];
}

/** The "Add keys" panel; `onAdded` runs after keys were added. */
export function addPanel(api, { onAdded, onClose }) {
  const text = h("textarea", { id: "add-text", rows: 6, required: true, spellcheck: "false", autocomplete: "off", placeholder: "sk-...\nsk-... team-a\n{\"secret\": \"sk-...\", \"label\": \"relay\", \"baseURL\": \"https://relay.example/v1\"}" });
  const results = h("div", { class: "add-results" });
  const submit = h("button", { type: "submit" }, "Add keys");
  const form = h(
    "form",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        submit.disabled = true;
        submit.textContent = "Adding…";
        try {
          const report = await api.post("keys", text.value, { type: "text/plain; charset=utf-8" });
          // The secrets were pasted here: do not keep them on the page once the gateway has them.
          text.value = "";
          replace(results, resultList(report));
          if (report.added > 0) onAdded();
        } catch (err) {
          replace(results, notice(explain(err), "error"));
        } finally {
          submit.disabled = false;
          submit.textContent = "Add keys";
        }
      },
    },
    h("label", { for: "add-text" }, "Paste keys, one per line: ", h("code", {}, "KEY"), ", ", h("code", {}, "KEY label"), ", or a JSON object. Lines starting with # are skipped."),
    text,
    h("div", { class: "row" }, submit, h("button", { type: "button", class: "ghost", onclick: onClose }, "Close")),
  );
  const panel = h("section", { class: "panel", "aria-labelledby": "add-title" }, h("h2", { id: "add-title" }, "Add keys"), form, results);
  return { panel, focus: () => text.focus() };
}
