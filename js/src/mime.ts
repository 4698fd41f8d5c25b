/** Choosing how to show a display bundle. */

/** Mime types in order of preference: the richest one that can be shown safely comes first. */
export const MIME_RANK: readonly string[] = [
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/svg+xml",
  "text/html",
  "text/markdown",
  "text/latex",
  "application/json",
  "text/plain",
];

export type MimeKind = "image" | "svg" | "html" | "json" | "text" | "source";

/** How a mime type is shown. `source`: code shown as text, never run (e.g. javascript). */
export function mimeKind(mime: string): MimeKind {
  if (mime === "image/svg+xml") return "svg";
  if (/^image\/(png|jpeg|gif|webp|bmp)$/.test(mime)) return "image";
  if (mime === "text/html") return "html";
  if (mime === "application/json" || mime.endsWith("+json")) return "json";
  if (mime.includes("javascript") || mime.includes("ecmascript")) return "source";
  return "text";
}

/** The mime type shown by default: the best ranked one present, else the first one. */
export function chooseMime(mimes: readonly string[]): string {
  if (!mimes.length) return "";
  let best = "";
  let bestRank = Number.POSITIVE_INFINITY;
  for (const m of mimes) {
    const r = MIME_RANK.indexOf(m);
    if (r >= 0 && r < bestRank) {
      best = m;
      bestRank = r;
    }
  }
  if (best) return best;
  // Nothing known: prefer anything that is not code.
  return mimes.find((m) => mimeKind(m) !== "source") ?? mimes[0];
}

/** The bundle's mime types in the order the chooser lists them (ranked first, then the rest). */
export function orderMimes(mimes: readonly string[]): string[] {
  const known = MIME_RANK.filter((m) => mimes.includes(m));
  const rest = mimes.filter((m) => !MIME_RANK.includes(m));
  return [...known, ...rest];
}
