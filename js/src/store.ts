/** The browser's bounded window of Rows: sorted by seq, deduplicated, oldest dropped first. */
import type { Row } from "./types";

/** The default bound; the `window_rows` trait sets a view's own. */
export const MAX_ROWS = 10_000;

export interface AddResult {
  /** Rows new to the store, in seq order (empty when nothing changed). */
  added: Row[];
  /** True when the new rows were not all after the previous last row (a merge happened). */
  merged: boolean;
  /** How many of the oldest rows were dropped to stay within the bound. */
  dropped: number;
}

export class RowStore {
  /** All rows, ascending seq. Treat as read-only outside this class. */
  rows: Row[] = [];
  private readonly seqs = new Set<number>();

  constructor(readonly maxRows = MAX_ROWS) {}

  get size(): number {
    return this.rows.length;
  }

  get lastSeq(): number {
    return this.rows.length ? this.rows[this.rows.length - 1].seq : -1;
  }

  get firstSeq(): number {
    return this.rows.length ? this.rows[0].seq : -1;
  }

  has(seq: number): boolean {
    return this.seqs.has(seq);
  }

  /** Add a batch (any order, maybe with duplicates of each other or of stored rows). */
  add(batch: readonly Row[]): AddResult {
    const fresh: Row[] = [];
    const batchSeqs = new Set<number>();
    let sorted = true;
    for (const row of batch) {
      if (this.seqs.has(row.seq) || batchSeqs.has(row.seq)) continue;
      batchSeqs.add(row.seq);
      if (fresh.length && row.seq < fresh[fresh.length - 1].seq) sorted = false;
      fresh.push(row);
    }
    if (!fresh.length) return { added: [], merged: false, dropped: 0 };
    if (!sorted) fresh.sort((a, b) => a.seq - b.seq);
    // Rows older than everything a full window holds would be dropped at once: skip them.
    let start = 0;
    if (this.rows.length >= this.maxRows) {
      const first = this.rows[0].seq;
      while (start < fresh.length && fresh[start].seq < first) start++;
    }
    const kept = start ? fresh.slice(start) : fresh;
    const merged = kept.length > 0 && kept[0].seq < this.lastSeq;
    for (const row of kept) this.seqs.add(row.seq);
    if (!merged) {
      for (const row of kept) this.rows.push(row);
    } else {
      this.rows = mergeSorted(this.rows, kept);
    }
    let dropped = 0;
    if (this.rows.length > this.maxRows) {
      dropped = this.rows.length - this.maxRows;
      for (let i = 0; i < dropped; i++) this.seqs.delete(this.rows[i].seq);
      this.rows.splice(0, dropped);
    }
    const added = dropped ? kept.filter((r) => this.seqs.has(r.seq)) : kept;
    return { added, merged, dropped };
  }

  clear(): void {
    this.rows = [];
    this.seqs.clear();
  }
}

function mergeSorted(a: readonly Row[], b: readonly Row[]): Row[] {
  const out: Row[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i].seq <= b[j].seq ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Index of the first row with `seq >= target` in an ascending array (binary search). */
export function lowerBound(rows: readonly Row[], target: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].seq < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
