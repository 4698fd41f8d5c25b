/**
 * A virtualized list: every item is `rowHeight` tall except expanded ones, whose extra height is
 * measured after they are drawn. Only the items on screen (plus `overscan`) are in the DOM.
 * It follows the tail (stays scrolled to the bottom) until the user scrolls up.
 */

export interface ListSource {
  count(): number;
  keyAt(index: number): string;
  /** Index of a key, or -1. */
  indexOf(key: string): number;
  /** Changes whenever the item's element must be rebuilt. */
  stampAt(index: number): string;
  build(index: number): HTMLElement;
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

export class VirtualList {
  readonly spacer: HTMLDivElement;
  readonly win: HTMLDivElement;
  following = true;
  /** Measured extra height of expanded items, by key. */
  readonly extras = new Map<string, number>();
  private cache = new Map<string, { stamp: string; el: HTMLElement }>();
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
      this.resizer = new ResizeObserver(() => this.schedule());
      this.resizer.observe(scroller);
    }
  }

  private resizer: ResizeObserver | null = null;

  private onScroll = () => {
    const s = this.scroller;
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
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
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

  /** Keep the viewport on the same items after `n` items were removed at the top. */
  shiftUp(n: number): void {
    if (!this.following && n > 0)
      this.scroller.scrollTop = Math.max(0, this.scroller.scrollTop - n * this.rowHeight);
  }

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
    const H = this.rowHeight;
    const n = this.source.count();
    const extraTotal = this.layoutExtras();
    const total = n * H + extraTotal;
    this.spacer.style.height = `${total}px`;
    const s = this.scroller;
    const viewH = s.clientHeight || 400;
    if (!this.following && total <= viewH) {
      // Everything fits (e.g. a filter shrank the list): nothing to jump to, follow the tail.
      this.following = true;
      this.onFollowChange(true);
    }
    if (this.following) s.scrollTop = Math.max(0, total - viewH);
    const top = s.scrollTop;
    if (n === 0) {
      this.win.replaceChildren();
      this.cache.clear();
      this.lastRange = [0, -1];
      this.onRendered(0, -1);
      return;
    }
    const first = Math.max(0, indexAt(top, H, this.sortedExtras, n) - this.overscan);
    const lastVisible = indexAt(top + viewH, H, this.sortedExtras, n);
    const last = Math.min(n - 1, lastVisible + this.overscan);
    const items: { index: number; el: HTMLElement }[] = [];
    const next = new Map<string, { stamp: string; el: HTMLElement }>();
    for (let i = first; i <= last; i++) {
      const key = this.source.keyAt(i);
      const stamp = this.source.stampAt(i);
      let entry = this.cache.get(key);
      if (!entry || entry.stamp !== stamp) entry = { stamp, el: this.source.build(i) };
      next.set(key, entry);
      items.push({ index: i, el: entry.el });
    }
    this.cache = next;
    this.win.style.transform = `translateY(${offsetOf(first, H, this.sortedExtras)}px)`;
    const nodes = this.source.arrange ? this.source.arrange(items) : items.map((x) => x.el);
    const children = this.win.children;
    let same = children.length === nodes.length;
    for (let i = 0; same && i < nodes.length; i++) same = children[i] === nodes[i];
    if (!same) this.win.replaceChildren(...nodes);
    this.lastRange = [first, last];
    // Measure expanded items; draw again if their heights changed.
    let changed = false;
    for (const { index, el } of items) {
      const key = this.source.keyAt(index);
      const tall = el.classList.contains("jpf-expanded");
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
    this.scroller.removeEventListener("scroll", this.onScroll);
    this.resizer?.disconnect();
    this.cache.clear();
  }
}
