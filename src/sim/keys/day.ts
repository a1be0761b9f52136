let today = "";
let nextMidnight = 0;

/** Today's UTC date as `YYYY-MM-DD`, recomputed once a day. */
export function utcDay(now = Date.now()): string {
  if (now >= nextMidnight || now < nextMidnight - 86_400_000) {
    today = new Date(now).toISOString().slice(0, 10);
    nextMidnight = Date.parse(`${today}T00:00:00Z`) + 86_400_000;
  }
  return today;
}
