/** How long to wait before running again, to run at most once every `interval` ms. */
export function throttleDelay(lastRun: number, now: number, interval: number): number {
  // A clock that went backwards (or a first run: lastRun -Infinity) never waits longer than one
  // interval.
  return Math.max(0, Math.min(interval, lastRun + interval - now));
}
