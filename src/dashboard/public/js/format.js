// Numbers, money and times as people read them.
import { h } from "./dom.js";

const int = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const fmtInt = (n) => int.format(n ?? 0);
export const fmtCompact = (n) => (Math.abs(n ?? 0) < 10_000 ? int.format(n ?? 0) : compact.format(n));
export const fmtPercent = (ratio) => `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 1 : 0)}%`;

export function fmtUsd(n) {
  const v = n ?? 0;
  if (v === 0) return "$0";
  if (Math.abs(v) < 0.0001) return "<$0.0001";
  if (Math.abs(v) < 0.01) return `$${v.toFixed(4)}`;
  return `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export const fmtTime = (ms) => new Date(ms).toLocaleString();

/** The time of day when it is today, else the date. */
export function fmtShortTime(ms) {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleDateString();
}

/** "12 s ago", "in 3 min". */
export function fmtRelative(ms, now = Date.now()) {
  const d = Math.round((ms - now) / 1000);
  const a = Math.abs(d);
  const [n, unit] = a < 60 ? [a, "s"] : a < 3600 ? [Math.round(a / 60), "min"] : a < 86_400 ? [Math.round(a / 3600), "h"] : [Math.round(a / 86_400), "d"];
  if (a < 2) return "just now";
  return d < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** A relative time with the exact one in a tooltip, or a dash. */
export function timeCell(ms) {
  if (ms === null || ms === undefined || ms === 0) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: new Date(ms).toISOString(), title: fmtTime(ms) }, fmtRelative(ms));
}

/** A state as a coloured badge (the word is always there: colour is never the only cue). */
export const badge = (state) => h("span", { class: `badge s-${state}` }, state);

/** UTC labels for usage buckets. */
export const fmtHourUtc = (ms) => `${new Date(ms).toISOString().slice(11, 13)}h`;
export const fmtDayUtc = (ms) => new Date(ms).toISOString().slice(5, 10);
