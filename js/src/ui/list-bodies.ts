/**
 * Bodies of the message list's rows on screen: those opened, those shown inline, and (unless the
 * list follows a live tail, or in threaded mode) small ones ahead of a click. Asked for in
 * batches (at most 200 seqs) 100 ms after a draw; rows shown inline that a live tail skipped
 * are asked for once the stream pauses.
 */
import { isMarker } from "../filter";
import type { VirtualList } from "../virtual-list";
import type { ListItems } from "./list-items";
import { showsPreview } from "./preview";
import type { View } from "./view";

/** Bodies of on-screen rows up to this size are fetched ahead of a click. */
const PREFETCH_MAX_SIZE = 256 * 1024;
/** Rows arriving this recently (ms) mean a live stream is flowing. */
const LIVE_MS = 500;

export class ScreenBodies {
  private timer = 0;
  private laterTimer = 0;

  constructor(
    private readonly v: View,
    private readonly list: VirtualList,
    private readonly items: ListItems,
  ) {}

  /** Ask for one body again (the user opened the row, or pressed "retry"). */
  retry(seq: number): void {
    this.v.s.bodies.forget(seq);
    this.list.invalidate(this.items.itemKey(seq));
    this.request();
  }

  request(): void {
    if (this.timer) return;
    this.timer = window.setTimeout(() => {
      this.timer = 0;
      this.fetch();
    }, 100);
  }

  private fetch(): void {
    const [first, last] = this.list.range;
    const now = performance.now();
    const v = this.v;
    const s = v.s;
    const want: number[] = [];
    // While the list follows a live tail, rows fly by: fetch only what the user opened (and
    // the rows showing content inline once the stream pauses).
    const onlyOpened = this.list.following && now - s.lastRowsAt < LIVE_MS;
    let later = false;
    for (let i = first; i <= last && want.length < 200; i++) {
      const row = this.items.rowAt(i);
      if (!row || isMarker(row) || s.bodies.has(row.seq) || s.bodies.errors.has(row.seq)) continue;
      const force = v.expanded.has(row.seq);
      const inline = showsPreview(v, row);
      if (
        !force &&
        (onlyOpened || (s.mode === "threaded" && !inline) || row.size > PREFETCH_MAX_SIZE)
      ) {
        if (onlyOpened && inline) later = true;
        continue;
      }
      want.push(row.seq);
    }
    s.bodies.fetch(want, now);
    if (later && !this.laterTimer)
      this.laterTimer = window.setTimeout(() => {
        this.laterTimer = 0;
        this.request();
      }, 600);
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearTimeout(this.laterTimer);
  }
}
