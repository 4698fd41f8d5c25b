/**
 * A virtualized list: every item is `rowHeight` tall except expanded ones, whose extra height is
 * measured after they are drawn. Only the items on screen (plus `overscan`) are in the DOM.
 * It follows the tail (stays scrolled to the bottom) until the user scrolls up.
 */

import { throttleDelay } from "./throttle";

export interface ListSource {
  count(): number;
  keyAt(index: number): string;
  /** Index of a key, or -1. */
  indexOf(key: string): number;
  /** Changes whenever the item's element must be rebuilt. */
  stampAt(index: number): string;
  build(index: number): HTMLElement;
  /**
   * Optionally rewrite an element built for another item (with the same stamp) to show item
   * `index`, in place; false when it cannot (then `build` is used).
   */
  patch?(el: HTMLElement, index: number): boolean;
  /** Optionally group the drawn elements (threaded mode wraps a thread's lines). */
  arrange?(items: { index: number; el: HTMLElement }[]): Node[];
}

/** Pure layout: offsets with a few taller items. `extras` sorted by index. */
export function offsetOf(
  index: number,
  rowHeight: number,
  extras: readonly [number, number][],
): number {
  let acc = 0;
  for (const [i, ex] of extras) {
    if (i >= index) break;
    acc += ex;
  }
  return index * rowHeight + acc;
}

/** Pure layout: the item at vertical position `y`. */
export function indexAt(
  y: number,
  rowHeight: number,
  extras: readonly [number, number][],
  count: number,
): number {
  let acc = 0;
  for (const [i, ex] of extras) {
    const start = i * rowHeight + acc;
    if (y < start) break;
    if (y < start + rowHeight + ex) return Math.min(i, count - 1);
    acc += ex;
  }
  return Math.max(0, Math.min(count - 1, Math.floor((y - acc) / rowHeight)));
}

/**
 * Make `parent`'s children exactly `nodes`, in order, touching as few as possible: when the
 * list scrolls by k items, k leave at one end and k come in at the other; the rest stay put
 * (no restyle of the rows that did not change).
 */
export function reconcile(parent: Element, nodes: readonly Node[]): void {
  const children = parent.childNodes;
  if (children.length === nodes.length) {
    let same = true;
    for (let i = 0; same && i < nodes.length; i++) same = children[i] === nodes[i];
    if (same) return;
  }
  const keep = new Set(nodes);
  for (let c = parent.firstChild; c; ) {
    const next = c.nextSibling;
    if (!keep.has(c)) parent.removeChild(c);
    c = next;
  }
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (cur === n) cur = cur.nextSibling;
    else parent.insertBefore(n, cur);
  }
}

export class VirtualList {
  readonly spacer: HTMLDivElement;
  readonly win: HTMLDivElement;
  following = true;
  /** Measured extra height of expanded items, by key. */
  readonly extras = new Map<string, number>();
  private cache = new Map<string, { stamp: string; el: HTMLElement }>();
  /** The elements of the last draw, in order, with their stamps. */
  private drawn: { stamp: string; el: HTMLElement }[] = [];
  private frame = 0;
  private sortedExtras: [number, number][] = [];
  private lastRange: [number, number] = [0, -1];
  onFollowChange: (following: boolean) => void = () => {};
  onRendered: (first: number, last: number) => void = () => {};

  constructor(
    readonly scroller: HTMLElement,
    public source: ListSource,
    readonly rowHeight = 22,
    readonly overscan = 10,
  ) {
    this.spacer = document.createElement("div");
    this.spacer.className = "jpf-spacer";
    this.win = document.createElement("div");
    this.win.className = "jpf-window";
    scroller.append(this.spacer, this.win);
    scroller.addEventListener("scroll", this.onScroll, { passive: true });
    // Resizing the widget (or showing it after it was hidden) changes what is on screen.
    if (typeof ResizeObserver !== "undefined") {
      this.resizer = new ResizeObserver((entries) => {
        const box = entries[entries.length - 1]?.contentRect;
        this.viewH = box ? box.height : 0;
        this.schedule();
      });
      this.resizer.observe(scroller);
    }
  }

  private resizer: ResizeObserver | null = null;
  /** The scroller's height, from the ResizeObserver (0: unknown, read it). Saves a layout. */
  private viewH = 0;
  /** The scrollTop the list set itself while following (its scroll event needs no redraw). */
  private setTop = -1;

  private onScroll = () => {
    const s = this.scroller;
    if (this.following && this.setTop >= 0 && Math.abs(s.scrollTop - this.setTop) < 1) return;
    const atBottom = s.scrollTop + s.clientHeight >= s.scrollHeight - this.rowHeight * 1.5;
    if (atBottom !== this.following) {
      this.following = atBottom;
      this.onFollowChange(atBottom);
    }
    this.schedule();
  };

  /** Draw at the next animation frame (coalesced). */
  schedule(): void {
    if (this.frame) return;
    if (this.liveTimer) {
      clearTimeout(this.liveTimer);
      this.liveTimer = 0;
    }
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Minimum time between two draws caused by new rows (ms); 0: draw every batch. */
  liveInterval = 0;
  private liveTimer = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;

  /**
   * New rows arrived: draw, but at most once every `liveInterval` ms, so a live stream costs
   * a bounded number of layouts and paints a second (user actions use `schedule`).
   */
  scheduleLive(): void {
    if (this.frame || this.liveTimer) return;
    const wait = throttleDelay(this.lastDraw, performance.now(), this.liveInterval);
    if (wait <= 0) this.schedule();
    else
      this.liveTimer = window.setTimeout(() => {
        this.liveTimer = 0;
        this.schedule();
      }, wait);
  }

  /** Forget a drawn element so it is rebuilt. */
  invalidate(key?: string): void {
    if (key === undefined) this.cache.clear();
    else this.cache.delete(key);
    this.schedule();
  }

  /** Scroll to the newest item and follow it. */
  jumpToEnd(): void {
    this.following = true;
    this.onFollowChange(true);
    this.draw();
  }

  /**
   * Bring item `index` on screen: nothing moves when it is already there; otherwise the list
   * scrolls just enough (and stops following the tail, unless it is the last item).
   */
  reveal(index: number): void {
    const n = this.source.count();
    if (index < 0 || index >= n) return;
    if (index === n - 1) {
      this.jumpToEnd();
      return;
    }
    const H = this.rowHeight;
    const total = n * H + this.layoutExtras();
    const s = this.scroller;
    const viewH = this.viewH || s.clientHeight || 400;
    const top = this.following ? Math.max(0, total - viewH) : s.scrollTop;
    const at = offsetOf(index, H, this.sortedExtras);
    const end = offsetOf(index + 1, H, this.sortedExtras);
    let next = top;
    if (at < top) next = at;
    else if (end > top + viewH) next = Math.min(at, end - viewH);
    if (next === top) return;
    if (this.following) {
      this.following = false;
      this.onFollowChange(false);
    }
    s.scrollTop = next;
    this.draw();
  }

  /** Keep the viewport on the same items after `n` items were removed at the top. */
  shiftUp(n: number): void {
    if (!this.following && n > 0)
      this.scroller.scrollTop = Math.max(0, this.scroller.scrollTop - n * this.rowHeight);
  }

  /**
   * Keep the viewport on the same items after `n` items were added at the top. Applied at the
   * next draw, once the spacer has grown (scrollTop cannot go past the old height).
   */
  shiftDown(n: number): void {
    if (n > 0) this.pendingShift += n * this.rowHeight;
    this.schedule();
  }

  private pendingShift = 0;

  private layoutExtras(): number {
    const list: [number, number][] = [];
    let total = 0;
    for (const [key, ex] of this.extras) {
      const i = this.source.indexOf(key);
      if (i < 0 || ex <= 0) continue;
      list.push([i, ex]);
      total += ex;
    }
    list.sort((a, b) => a[0] - b[0]);
    this.sortedExtras = list;
    return total;
  }

  get range(): [number, number] {
    return this.lastRange;
  }

  draw(passes = 0): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    this.lastDraw = performance.now();
    const H = this.rowHeight;
    const n = this.source.count();
    const extraTotal = this.layoutExtras();
    const total = n * H + extraTotal;
    const s = this.scroller;
    // Read before writing: a read after a write forces a synchronous layout.
    const viewH = this.viewH || s.clientHeight || 400;
    let top = this.following ? 0 : s.scrollTop;
    const height = `${total}px`;
    if (this.spacer.style.height !== height) this.spacer.style.height = height;
    if (this.pendingShift) {
      if (!this.following) {
        top += this.pendingShift;
        s.scrollTop = top;
      }
      this.pendingShift = 0;
    }
    if (!this.following && total <= viewH) {
      // Everything fits (e.g. a filter shrank the list): nothing to jump to, follow the tail.
      this.following = true;
      this.onFollowChange(true);
    }
    if (this.following) {
      top = Math.max(0, total - viewH);
      if (top !== this.setTop) s.scrollTop = top;
      this.setTop = top;
    } else this.setTop = -1;
    if (n === 0) {
      this.win.replaceChildren();
      this.cache.clear();
      this.drawn = [];
      this.lastRange = [0, -1];
      this.onRendered(0, -1);
      return;
    }
    // Following the tail, nothing comes from below and rows above fly out: a small overscan.
    const above = this.following ? Math.min(2, this.overscan) : this.overscan;
    const first = Math.max(0, indexAt(top, H, this.sortedExtras, n) - above);
    const lastVisible = indexAt(top + viewH, H, this.sortedExtras, n);
    const last = Math.min(n - 1, lastVisible + this.overscan);
    const items: { index: number; el: HTMLElement }[] = [];
    const next = new Map<string, { stamp: string; el: HTMLElement }>();
    const missing: { at: number; key: string; stamp: string }[] = [];
    const stamps: string[] = [];
    for (let i = first; i <= last; i++) {
      const key = this.source.keyAt(i);
      const stamp = this.source.stampAt(i);
      stamps.push(stamp);
      const entry = this.cache.get(key);
      if (entry && entry.stamp === stamp) {
        next.set(key, entry);
        items.push({ index: i, el: entry.el });
      } else {
        missing.push({ at: items.length, key, stamp });
        items.push({ index: i, el: this.win }); // placeholder, set below
      }
    }
    // Items new on screen take over, in order, the elements of items that left (same stamp):
    // following a live tail, every row is new at each draw and each element stays in its
    // place with new text, instead of a new subtree to style, lay out and collect.
    const patch = this.source.patch;
    let free: { stamp: string; el: HTMLElement }[] = [];
    if (patch && missing.length) {
      const used = new Set<HTMLElement>();
      for (const e of next.values()) used.add(e.el);
      free = this.drawn.filter((e) => !used.has(e.el));
    }
    let f = 0;
    for (const m of missing) {
      const index = items[m.at].index;
      let entry: { stamp: string; el: HTMLElement } | undefined;
      while (f < free.length && !entry) {
        const cand = free[f++];
        if (cand.stamp === m.stamp && patch?.(cand.el, index))
          entry = { stamp: m.stamp, el: cand.el };
      }
      entry ??= { stamp: m.stamp, el: this.source.build(index) };
      next.set(m.key, entry);
      items[m.at].el = entry.el;
    }
    this.cache = next;
    this.drawn = items.map((x, k) => ({ stamp: stamps[k], el: x.el }));
    const transform = `translateY(${offsetOf(first, H, this.sortedExtras)}px)`;
    if (this.win.style.transform !== transform) this.win.style.transform = transform;
    const nodes = this.source.arrange ? this.source.arrange(items) : items.map((x) => x.el);
    reconcile(this.win, nodes);
    this.lastRange = [first, last];
    // Measure expanded items (and rows showing content inline); draw again if their heights
    // changed.
    let changed = false;
    for (const { index, el } of items) {
      const key = this.source.keyAt(index);
      const tall = el.classList.contains("jpf-expanded") || el.classList.contains("jpf-tall");
      const ex = tall ? Math.max(0, el.offsetHeight - H) : 0;
      const old = this.extras.get(key) ?? 0;
      if (Math.abs(ex - old) > 0.5) {
        if (ex > 0) this.extras.set(key, ex);
        else this.extras.delete(key);
        changed = true;
      }
    }
    if (changed && passes < 3) {
      this.draw(passes + 1);
      return;
    }
    this.onRendered(first, last);
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    clearTimeout(this.liveTimer);
    this.scroller.removeEventListener("scroll", this.onScroll);
    this.resizer?.disconnect();
    this.cache.clear();
  }
}
