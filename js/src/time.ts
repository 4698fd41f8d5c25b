/** Formatting of times, durations and sizes for display. */

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Local wall-clock time `HH:MM:SS.mmm` of a ms-since-epoch value ("" if not a number). */
export function formatTime(t: number): string {
  if (typeof t !== "number" || !Number.isFinite(t)) return "";
  const d = new Date(t);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local time of an ISO date string (as in headers), or the string itself if unparsable. */
export function formatIsoTime(iso: string): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  return Number.isFinite(t) ? formatTime(t) : iso;
}

/** A duration in ms as `850 ms`, `1.25 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A byte count as `412 B`, `1.2 KB`, `3.4 MB`. */
export function formatBytes(n: number): string {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** The first `n` characters of an id (kernel id, session), for display. */
export function shortId(id: string, n = 8): string {
  return (id ?? "").slice(0, n);
}

/**
 * How long ago an ISO date (or ms since the epoch) was, relative to `now` (ms): `just now`,
 * `42 s ago`, `3 min ago`, `5 h ago`, `2 d ago`; "" when it is not a date. A time slightly in
 * the future (clock skew between server and browser) counts as `just now`.
 */
export function formatRelative(when: string | number, now: number): string {
  const t = typeof when === "number" ? when : when ? Date.parse(when) : Number.NaN;
  if (!Number.isFinite(t) || !Number.isFinite(now)) return "";
  const s = Math.floor((now - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}
