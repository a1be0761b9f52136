// Building the page from data without HTML strings: every text goes through textContent
// (the Content-Security-Policy forbids assigning HTML anyway).

/**
 * `h("button", { class: "x", onclick: fn }, "text", child)`: an element. Attributes set to
 * null, undefined or false are left out; `on*` are listeners; children may be nested arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element (same arguments as `h`). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces what `el` holds, keeping keyboard focus on the "same" control when it is rebuilt. */
export function replace(el, ...children) {
  const active = document.activeElement;
  const focusKey = active instanceof HTMLElement && el.contains(active) ? active.dataset.focus : undefined;
  el.replaceChildren();
  append(el, children);
  if (focusKey !== undefined) el.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`)?.focus();
}

/** A table cell named for the phone layout (rows become cards: the name shows before the value). */
export function td(label, content, cls = null) {
  return h("td", { "data-label": label, class: cls }, h("div", { class: "cell" }, content));
}

/** A short message for everyone, screen readers included. */
export function toast(text, kind = "info") {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.dataset.kind = kind;
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), 5000);
}

/** A modal question; resolves true when confirmed. Escape and Cancel say no. */
export function confirmDialog({ title, body, confirm = "Confirm", danger = false }) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "submit", value: "yes", class: danger ? "danger" : null }, confirm);
    const cancel = h("button", { type: "submit", value: "no", class: "ghost" }, "Cancel");
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "dialog-title", "aria-describedby": "dialog-body" },
      h("form", { method: "dialog" }, h("h2", { id: "dialog-title" }, title), h("p", { id: "dialog-body" }, body), h("div", { class: "row end" }, cancel, ok)),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "yes");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    // Enter on a destructive question means "no" unless the person moves to the button.
    (danger ? cancel : ok).focus();
  });
}

/** An empty-state or error box. */
export function notice(text, kind = "empty", ...more) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : null }, h("p", {}, text), ...more);
}
