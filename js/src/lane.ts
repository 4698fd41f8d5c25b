/** The status lane: busy/idle segments from status rows. */
import type { Row } from "./types";

export interface Segment {
  state: string;
  start: number;
  /** End time; for the last segment, the time it is drawn at (now). */
  end: number;
  /** The last segment, still going on. */
  open: boolean;
  parentType: string;
}

export const MAX_SEGMENTS = 200;

/**
 * Segments from status rows in seq order: a new segment starts whenever the state changes.
 * Only the most recent `max` segments are returned.
 */
export function laneSegments(
  statusRows: readonly Row[],
  now: number,
  max = MAX_SEGMENTS,
): Segment[] {
  const segs: Segment[] = [];
  for (const row of statusRows) {
    const state = row.state || "unknown";
    const last = segs[segs.length - 1];
    if (last && last.state === state) continue;
    if (last) {
      last.end = Math.max(last.start, row.t);
      last.open = false;
    }
    segs.push({ state, start: row.t, end: row.t, open: true, parentType: row.parent_type });
  }
  const tail = segs[segs.length - 1];
  if (tail) tail.end = Math.max(tail.start, now);
  return segs.length > max ? segs.slice(segs.length - max) : segs;
}
