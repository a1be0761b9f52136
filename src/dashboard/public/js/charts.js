// Hand-drawn SVG charts: stacked bars over time, sized to their box and redrawn when it
// changes size. Colours come from the stylesheet (`.c0`…`.c7`, `.c-other`), so the same
// class paints a bar and its legend swatch. Each bar has a tooltip; the numbers themselves
// are in a table next to the chart for keyboards and screen readers.
import { h, s } from "./dom.js";

export const PALETTE = 8;
export const colourClass = (i) => (i < PALETTE ? `c${i}` : "c-other");

/** A round axis maximum and ~4 ticks. */
function niceScale(max) {
  if (max <= 0) return { top: 1, step: 1 };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

function draw(box, spec) {
  const { buckets, series, formatX, formatY, label } = spec;
  const width = Math.max(280, box.clientWidth);
  const height = spec.height ?? 220;
  const pad = { l: 48, r: 8, t: 10, b: 24 };
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const totals = buckets.map((_, i) => series.reduce((n, sr) => n + (sr.values[i] ?? 0), 0));
  const { top, step } = niceScale(Math.max(0, ...totals));
  const y = (v) => pad.t + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, Math.min(40, slot * 0.72));

  const grid = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    grid.push(s("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: "grid" }), s("text", { x: pad.l - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, formatY(v)));
  }
  // Room for each x label (about 6.5 px a character at 11 px), so they never overlap.
  const labelW = 6.5 * Math.max(2, ...buckets.slice(0, 3).map((b) => String(formatX(b)).length)) + 12;
  const every = Math.max(1, Math.ceil(labelW / slot));
  const bars = [];
  buckets.forEach((b, i) => {
    const x = pad.l + i * slot + (slot - barW) / 2;
    if (i % every === 0) bars.push(s("text", { x: x + barW / 2, y: height - 6, class: "tick", "text-anchor": "middle" }, formatX(b)));
    let acc = 0;
    series.forEach((sr, j) => {
      const v = sr.values[i] ?? 0;
      if (v <= 0) return;
      const y0 = y(acc);
      acc += v;
      bars.push(s("rect", { x, y: y(acc), width: barW, height: Math.max(0.5, y0 - y(acc)), class: `bar ${sr.cls ?? colourClass(j)}` }, s("title", {}, `${formatX(b)} · ${sr.name}: ${formatY(v)}`)));
    });
  });
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" }, s("title", {}, label), grid, bars);
  box.replaceChildren(svg);
}

/**
 * A stacked bar chart in a new element: `buckets` (x values), `series` [{ name, values, cls? }],
 * `formatX`, `formatY`, `label` (what the chart shows, for assistive technology).
 * `box.update(spec)` redraws it with new data.
 */
export function stackedBars(spec) {
  const box = h("div", { class: "chart-box" });
  box.update = (next) => {
    spec = next;
    if (box.clientWidth > 0) draw(box, spec);
  };
  let last = 0;
  const ro = new ResizeObserver(() => {
    if (box.clientWidth !== last) {
      last = box.clientWidth;
      draw(box, spec);
    }
  });
  ro.observe(box);
  return box;
}

/** The legend for series drawn with `colourClass(index)` (or their own `cls`). */
export function legend(series) {
  return h(
    "ul",
    { class: "legend" },
    series.map((sr, i) => h("li", {}, h("span", { class: `swatch ${sr.cls ?? colourClass(i)}`, "aria-hidden": "true" }), sr.name)),
  );
}

/**
 * Keeps the `max - 1` largest series (by `total`) and folds the rest into one "others"
 * series, summing each array field named in `fields`.
 */
export function topSeries(series, max = PALETTE, fields = ["values"]) {
  const sorted = [...series].sort((a, b) => b.total - a.total);
  if (sorted.length <= max) return sorted;
  const kept = sorted.slice(0, max - 1);
  const rest = sorted.slice(max - 1);
  const other = { name: `${rest.length} others`, total: rest.reduce((n, sr) => n + sr.total, 0), cls: "c-other" };
  for (const f of fields) other[f] = rest[0][f].map((_, i) => rest.reduce((n, sr) => n + (sr[f][i] ?? 0), 0));
  return [...kept, other];
}
