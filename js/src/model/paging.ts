/**
 * Paging to rows older than the window: the list holds every row that passes the filters from
 * `before` on; `older` requests ask Python for a page below it, one at a time, until it says
 * `done`. A restart (the list's start moved) drops the answer still on its way: prepended, it
 * would leave a gap.
 */
import type { Filters } from "../filter";
import type { Row } from "../types";
import type { RequestClient } from "./client";

/** The list's filters as Python's `row_filter` reads them (in `older` and `export` requests). */
export function wireFilters(f: Filters): Record<string, unknown> {
  return {
    types: f.types,
    channels: f.channels,
    directions: f.directions,
    clients: f.clients,
    text: f.text,
    show_status: f.showStatus,
    only_problems: f.onlyProblems === true,
    cleared_seq: f.clearedSeq,
    show_own: f.showOwn === true,
  };
}

export class Paging {
  /** The seq below which older rows may still be asked for (-1: nothing known yet). */
  private before = -1;
  /** Python said nothing older passes the filters (or could not search). */
  private done = false;
  /** The request in flight (0: none). */
  private id = 0;

  constructor(private readonly client: RequestClient) {}

  restart(before: number): void {
    this.before = before;
    this.done = false;
    if (this.id) this.client.drop(this.id);
    this.id = 0;
  }

  /**
   * Ask for the page below the list's start (rows above `above`), unless one is on its way or
   * nothing older is left; `take` gets the page's rows below the start and whether it was the
   * last.
   */
  ask(above: number, f: Filters, take: (rows: Row[], done: boolean) => void): void {
    if (this.id || this.done || this.before < 0) return;
    const req = this.client.request("older", {
      before: this.before,
      above,
      filters: wireFilters(f),
    });
    this.id = req.id;
    req.then(
      (a) => {
        if (a.kind !== "older") return;
        this.id = 0;
        const before = this.before;
        this.before = Math.min(before, a.next);
        this.done = a.done;
        take(
          a.rows.filter((r) => r.seq < before),
          a.done,
        );
      },
      () => {
        // Python could not search (it says why in its log): stop asking until the list resets.
        if (this.id !== req.id) return;
        this.id = 0;
        this.done = true;
      },
    );
  }
}
