/**
 * The message list's keyboard: arrow keys or j/k move between items, Enter opens a row or
 * collapses a thread, c copies the item's message as JSON (its body when held, else its row),
 * End jumps to the latest. The item the keyboard is on is marked `.jpf-focused` and focused.
 */
import { copyText } from "../dom";
import { isMarker } from "../filter";
import type { VirtualList } from "../virtual-list";
import type { View } from "./view";

/** What the keyboard does to the list. */
export interface KeyActions {
  /** Open or close a row's body (`key`: the item showing it). */
  toggleRow(seq: number, key: string): void;
  /** Collapse or open a thread. */
  toggleThread(key: string): void;
}

export class ListKeys {
  /** The item the keyboard is on (its list key, "" for none) and whether to focus it. */
  private key = "";
  private wantFocus = false;
  /** The element last given focus. */
  private focused: HTMLElement | null = null;

  constructor(
    private readonly v: View,
    private readonly list: VirtualList,
    private readonly act: KeyActions,
  ) {
    v.root.addEventListener("keydown", this.onKey);
  }

  private onKey = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target as HTMLElement;
    if (t.closest("input, select, textarea, button, [contenteditable]")) return;
    const step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[ev.key];
    if (ev.key === "End") this.list.jumpToEnd();
    else if (step) this.move(step);
    else if (ev.key === "Enter" && this.key) this.open();
    else if (ev.key === "c" && this.key) this.copy();
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  };

  /** Move to the next (1) or previous (-1) item, from the one on screen. */
  private move(step: number): void {
    const src = this.list.source;
    const n = src.count();
    if (!n) return;
    let i = this.key ? src.indexOf(this.key) : -1;
    if (i < 0) i = step > 0 ? this.list.range[0] - 1 : Math.min(n, this.list.range[1] + 1);
    i = Math.max(0, Math.min(n - 1, i + step));
    this.key = src.keyAt(i);
    this.wantFocus = true;
    this.list.reveal(i);
    this.list.schedule();
  }

  /** The element drawn for an item key, if on screen. */
  private elementOf(key: string): HTMLElement | null {
    const sel = key.startsWith("r:")
      ? `[data-role=row][data-seq="${key.slice(2)}"]`
      : `.jpf-thread-head[data-thread-key="${CSS.escape(key)}"]`;
    return this.list.win.querySelector<HTMLElement>(sel);
  }

  /** Mark the keyboard's item (and give it focus after a key moved it); after each draw. */
  show(): void {
    const el = this.key ? this.elementOf(this.key) : null;
    for (const other of this.list.win.querySelectorAll<HTMLElement>(".jpf-focused"))
      if (other !== el) other.classList.remove("jpf-focused");
    if (!el) return;
    el.classList.add("jpf-focused");
    if (!el.hasAttribute("tabindex")) el.tabIndex = -1;
    // Focus it after a key moved it, or again when its element was rebuilt (a body arrived)
    // while it had focus.
    const lost =
      this.focused && !this.focused.isConnected && document.activeElement === document.body;
    if (this.wantFocus || lost) {
      this.wantFocus = false;
      el.focus({ preventScroll: true });
      this.focused = el;
    }
  }

  private open(): void {
    const key = this.key;
    if (key.startsWith("r:")) {
      const seq = Number(key.slice(2));
      const row = this.v.s.rowBySeq(seq) ?? this.v.s.listing.shown.find((r) => r.seq === seq);
      if (row && !isMarker(row)) this.act.toggleRow(seq, key);
    } else this.act.toggleThread(key);
    this.wantFocus = true;
  }

  /** Copy the keyboard's item as JSON: its body when held, else its row. */
  private copy(): void {
    const s = this.v.s;
    const key = this.key;
    const head = key.startsWith("r:") ? null : s.threading.ix?.threads.get(key)?.head;
    const seq = head ? head.seq : Number(key.slice(2));
    const row = head ?? s.rowBySeq(seq) ?? s.listing.shown.find((r) => r.seq === seq);
    if (!row) return;
    const text = JSON.stringify(s.bodies.get(seq) ?? row, null, 2);
    void copyText(text).then((ok) => {
      const el = this.elementOf(key);
      if (el) el.dataset.copied = ok ? "true" : "false";
    });
  }

  dispose(): void {
    this.v.root.removeEventListener("keydown", this.onKey);
  }
}
