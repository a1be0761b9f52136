// The dashboard's entry: sign-in and sign-out, the shared live feed, and a hash router
// (`#/keys`, `#/events?key=ID`, ...) that mounts one page at a time.
import { createApi, explain } from "./api.js";
import { toast } from "./dom.js";
import { LiveFeed } from "./live-feed.js";
import * as session from "./session.js";
import * as keys from "./pages/keys.js";
import * as events from "./pages/events.js";
import * as usage from "./pages/usage.js";
import * as live from "./pages/live.js";
import * as tokens from "./pages/tokens.js";

const PAGES = { keys, events, usage, live, tokens };
const $ = (id) => document.getElementById(id);

const api = createApi({
  getToken: session.token,
  onUnauthorized: (err) => signOut(explain(err)),
});
const feed = new LiveFeed(api);
let current = null;

function parseHash() {
  const [path, q = ""] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: PAGES[path] ? path : "keys", params: new URLSearchParams(q) };
}

function show() {
  current?.unmount?.();
  current = null;
  const view = $("view");
  view.replaceChildren();
  if (session.token() === null) return;
  const { name, params } = parseHash();
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · keypool`;
  current = PAGES[name].mount(view, { api, feed, params, navigate: (hash) => (location.hash = hash) });
}

function setSignedIn(on) {
  $("login").hidden = on;
  $("nav").hidden = !on;
  $("logout").hidden = !on;
  $("conn").hidden = !on;
  if (on) feed.start();
  else feed.stop();
}

function signOut(message) {
  if (session.token() === null) return;
  session.clear();
  setSignedIn(false);
  show();
  const err = $("login-error");
  err.hidden = message === undefined;
  err.textContent = message ?? "";
  $("admin-token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $("admin-token");
  const err = $("login-error");
  const button = event.submitter ?? $("login-form").querySelector("button");
  const token = input.value.trim();
  err.hidden = true;
  button.disabled = true;
  try {
    await api.get("stats", { token });
    session.save(token);
    input.value = "";
    setSignedIn(true);
    show();
    $("main").focus();
  } catch (e) {
    err.textContent = explain(e);
    err.hidden = false;
    input.select();
  } finally {
    button.disabled = false;
  }
}

feed.addEventListener("connection", (e) => {
  const el = $("conn");
  el.textContent = e.detail ? "● live" : "○ reconnecting…";
  el.dataset.on = String(e.detail);
});

$("login-form").addEventListener("submit", signIn);
$("logout").addEventListener("click", () => {
  signOut();
  toast("Signed out: the admin token was removed from this tab.");
});
window.addEventListener("hashchange", () => {
  show();
  $("main").focus({ preventScroll: true });
});
window.addEventListener("unhandledrejection", (e) => toast(explain(e.reason), "error"));

setSignedIn(session.token() !== null);
if (session.token() === null) $("admin-token").focus();
show();
