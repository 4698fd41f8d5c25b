/**
 * The rows the list shows (list modes), ascending seq: every row of the window that passes the
 * filters from the paging's start on, older pages asked for while scrolling up, rows the window
 * dropped (kept up to a bound), and what pausing freezes. Changes go out as `ListChange`s.
 */

import { type AddResult, lowerBound, type RowStore } from "../store";
import type { Row } from "../types";
import type { FilterState } from "./filter-state";
import type { Paging } from "./paging";
import type { Threading } from "./threading";

/** Rows the list keeps, at most, as a multiple of the window (older ones are asked for again). */
const SHOWN_WINDOWS = 2;

/** What changed in the listed rows, for the views' virtual lists. */
export type ListChange =
  /** Everything may have changed (filters, pause). */
  | { kind: "reset" }
  /** The mode or density changed: rows are drawn anew. */
  | { kind: "mode" }
  /** The window was emptied (a switch to another kernel): views jump to the end. */
  | { kind: "cleared" }
  /** `added` new rows listed at the end; `removed` rows were cut at the top. */
  | { kind: "live"; removed: number; added: number }
  /** `added` older rows were put at the top (0: none, ask again). */
  | { kind: "older"; added: number }
  /** Only fewer rows (the filter text narrowed). */
  | { kind: "narrowed" }
  /** A body arrived or failed for this row. */
  | { kind: "body"; seq: number }
  /** These rows' problem counts changed (the linter reached them after they were sent). */
  | { kind: "problems"; seqs: number[] };

/** What the listing reads from the rest of the state. */
export interface ListingDeps {
  store(): RowStore;
  readonly filters: FilterState;
  readonly threading: Threading;
  readonly paging: Paging;
  threaded(): boolean;
  emit(c: ListChange): void;
  /** Rows were listed: counters redraw. */
  listed(): void;
}

export class Listing {
  /**
   * Rows the list shows: those below the window's first row came from `older` requests, or
   * stayed when the window moved on; they are bounded by SHOWN_WINDOWS.
   */
  shown: Row[] = [];
  paused = false;
  /** The newest seq when the list was paused. */
  pausedAt = -1;
  pendingWhilePaused = 0;

  constructor(private readonly d: ListingDeps) {}

  /** Rows the list may show: all, or while paused only those received before pausing. */
  listable(): readonly Row[] {
    const rows = this.d.store().rows;
    if (!this.paused) return rows;
    return rows.slice(0, lowerBound(rows, this.pausedAt + 1));
  }

  /** List the window anew with the current filters. */
  refilter(): void {
    this.shown = this.listable().filter(this.d.filters.predicate);
    this.resetOlder();
    if (this.d.threaded()) this.d.threading.rebuild(this.d.filters.predicate, this.listable());
    this.d.emit({ kind: "reset" });
  }

  /** The filters only got stricter on the text: keep the shown rows that still pass. */
  narrow(): void {
    this.shown = this.shown.filter(this.d.filters.predicate);
    this.d.emit({ kind: "narrowed" });
  }

  /** Forget every listed row (the window starts over). */
  clear(): void {
    this.shown = [];
    this.pendingWhilePaused = 0;
    this.resetOlder();
  }

  setPaused(p: boolean): boolean {
    if (p === this.paused) return false;
    this.paused = p;
    this.pausedAt = this.d.store().lastSeq;
    if (!p) {
      this.pendingWhilePaused = 0;
      this.refilter();
    }
    return true;
  }

  /** Forget the older rows asked for: the list is now what the window has, from its start. */
  private resetOlder(): void {
    const listable = this.listable();
    this.d.paging.restart(
      listable.length
        ? listable[0].seq
        : this.paused && this.pausedAt >= 0
          ? this.pausedAt + 1
          : this.d.store().firstSeq,
    );
  }

  /**
   * A view's list is near its top: ask Python for the rows before the first one shown that pass
   * the filters (a page at a time), none below `floorSeq` (another kernel's).
   */
  askOlder(floorSeq: number): void {
    const f = this.d.filters;
    this.d.paging.ask(Math.max(floorSeq - 1, f.filters.clearedSeq), f.filters, (rows, done) => {
      f.deep.matched(rows); // Python applied the whole query to them
      const older = rows.filter((r) => r.seq >= floorSeq && f.predicate(r));
      if (older.length) {
        this.shown = older.concat(this.shown);
        this.d.listed();
      }
      if (older.length || !done) this.d.emit({ kind: "older", added: older.length });
    });
  }

  /** Python found these rows (ascending seqs) match the query's paths: list those that pass. */
  found(seqs: readonly number[]): void {
    const listable = this.listable();
    const predicate = this.d.filters.predicate;
    const rows: Row[] = [];
    for (const seq of seqs) {
      const r = listable[lowerBound(listable, seq)];
      if (r?.seq === seq && predicate(r)) rows.push(r);
    }
    if (!rows.length) return;
    this.d.listed();
    if (this.d.threaded()) {
      this.d.threading.rebuild(predicate, listable);
      this.d.emit({ kind: "reset" });
      return;
    }
    const shown = this.shown;
    if (!shown.length || rows[0].seq > shown[shown.length - 1].seq) {
      shown.push(...rows);
      this.d.emit({ kind: "live", removed: 0, added: rows.length });
      return;
    }
    const seen = new Set(shown.map((r) => r.seq));
    this.shown = shown.concat(rows.filter((r) => !seen.has(r.seq))).sort((a, b) => a.seq - b.seq);
    this.d.emit({ kind: "reset" });
  }

  /**
   * Rows entered the window (`lastBefore`: the window's newest seq before them; `history`: an
   * answer to `history`, which a view that starts paused still shows).
   */
  added(res: AddResult, lastBefore: number, history: boolean): void {
    const store = this.d.store();
    if (this.paused) {
      if (history) {
        this.pausedAt = Math.max(this.pausedAt, store.lastSeq);
        this.refilter();
      } else this.pendingWhilePaused += res.added.length;
      return;
    }
    if (res.merged) {
      this.refilter();
      return;
    }
    let removed = 0;
    if (res.added.length && res.added[0].seq > lastBefore + 1) {
      // Rows came and went in one batch bigger than the window, never listed: the rows listed
      // before them are not the ones just below the new ones any more. Start at the window.
      removed = this.shown.length;
      this.shown = [];
      this.d.paging.restart(res.added[0].seq);
    }
    let listed = 0;
    const predicate = this.d.filters.predicate;
    for (const r of res.added) {
      if (!predicate(r)) continue;
      this.shown.push(r);
      listed += 1;
    }
    // Rows the window dropped stay listed, up to a bound; those cut can be asked for again.
    const most = SHOWN_WINDOWS * store.maxRows;
    if (this.shown.length > most) {
      const cut = this.shown.length - most;
      removed += cut;
      this.shown.splice(0, cut);
      this.d.paging.restart(this.shown[0].seq);
    }
    const threads = this.d.threading;
    threads.add(res.added, res.dropped > 0, store.firstSeq);
    this.d.emit({ kind: "live", removed: threads.ix ? 0 : removed, added: listed });
  }
}
