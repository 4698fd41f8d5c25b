/**
 * The window: the newest `window_rows` rows of the monitored kernel (a `RowStore`), and the
 * floor below which rows belong to a kernel the monitor switched away from (the newest
 * `switched` marker's seq).
 */
import { type AddResult, lowerBound, RowStore } from "../store";
import type { Row } from "../types";

/** A `switched` marker: the monitor moved to another kernel, the window starts over. */
function isSwitch(row: Row): boolean {
  return row.channel === "monitor" && row.msg_type === "switched";
}

export class RowWindow {
  store: RowStore;
  /** Rows with a lower seq belong to a kernel the monitor switched away from. */
  floorSeq = -1;

  constructor(size: number) {
    this.store = new RowStore(size);
  }

  /** Raise the floor to the newest `switched` marker in `rows`: true when the window must start over. */
  raiseFloor(rows: readonly Row[]): boolean {
    let floor = this.floorSeq;
    for (const r of rows) if (isSwitch(r) && r.seq > floor) floor = r.seq;
    if (floor <= this.floorSeq) return false;
    this.floorSeq = floor;
    return this.store.size > 0;
  }

  /** Add the rows at or above the floor; `lastBefore`: the newest seq held before them. */
  add(rows: Row[]): { res: AddResult; lastBefore: number } | null {
    const kept = this.floorSeq >= 0 ? rows.filter((r) => r.seq >= this.floorSeq) : rows;
    if (!kept.length) return null;
    const lastBefore = this.store.lastSeq;
    const res = this.store.add(kept);
    if (!res.added.length && !res.dropped) return null;
    return { res, lastBefore };
  }

  /** Is the row the marker of an attach newer than anything held (the picker's attach took)? */
  isNewAttach(r: Row): boolean {
    return (
      r.channel === "monitor" &&
      (r.msg_type === "switched" || r.msg_type === "attached") &&
      r.seq > this.floorSeq &&
      r.seq > this.store.lastSeq
    );
  }

  /** Hold at most `n` rows, keeping the newest; false when that is already the size. */
  resize(n: number): boolean {
    if (n === this.store.maxRows) return false;
    const kept = this.store.rows.slice(-n);
    this.store = new RowStore(n);
    this.store.add(kept);
    return true;
  }

  /** Forget every row (a switch to another kernel); hold at most `size` from now on. */
  clear(size: number): void {
    this.store = new RowStore(size);
  }

  rowBySeq(seq: number): Row | undefined {
    const rows = this.store.rows;
    const i = lowerBound(rows, seq);
    return rows[i]?.seq === seq ? rows[i] : undefined;
  }
}
