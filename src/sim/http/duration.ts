/**
 * OpenAI's duration format for `x-ratelimit-reset-*` (Go's time.Duration
 * style): `20ms`, `1s`, `2.5s`, `6m0s`, `1h2m3s`.
 */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  const total = Math.ceil(ms);
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const sec = seconds(total % 60_000);
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

/** `12.345s`, `12.3s`, `12s` from milliseconds, without floating-point formatting. */
function seconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  let frac = ms % 1000;
  if (frac === 0) return `${whole}s`;
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits -= 1;
  }
  return `${whole}.${String(frac).padStart(digits, "0")}s`;
}
