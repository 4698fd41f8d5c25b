/**
 * Threaded mode's index of the listed rows (`ThreadIndex`, incremental): built from the rows the
 * list may show when threaded mode is entered or the filters change, fed new rows as they come,
 * dropped outside threaded mode.
 */
import { ThreadIndex } from "../threads";
import type { Row } from "../types";

export class Threading {
  /** The index (null outside threaded mode until asked for). */
  ix: ThreadIndex | null = null;

  rebuild(predicate: (row: Row) => boolean, rows: readonly Row[]): ThreadIndex {
    this.ix = new ThreadIndex(predicate);
    this.ix.addAll(rows);
    return this.ix;
  }

  drop(): void {
    this.ix = null;
  }

  /** New rows entered the window; rows below `firstSeq` left it. */
  add(added: readonly Row[], dropped: boolean, firstSeq: number): void {
    if (!this.ix) return;
    this.ix.addAll(added);
    if (dropped) this.ix.dropBefore(firstSeq);
  }
}
