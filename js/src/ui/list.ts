/**
 * The message list: a virtual list (fixed-height rows, measured opened ones, tail following,
 * element reuse) of the rows the model lists, or of threads and their rows in threaded mode;
 * opening rows, collapsing threads, fetching bodies of the rows on screen, the empty list's
 * note and "jump to latest".
 */

import { effect } from "@preact/signals-core";
import { copyText, h, setText } from "../dom";
import { isMarker } from "../filter";
import { emptyListText } from "../header";
import type { ListChange, MonitorState } from "../model/state";
import { lowerBound } from "../store";
import { type Line, ThreadLines } from "../threads";
import type { Row } from "../types";
import { type ListSource, VirtualList } from "../virtual-list";
import { shownCount } from "./counters";
import { detailMode, type ItemHooks } from "./detail";
import { markCutPreviews, previewStamp, showsPreview } from "./preview";
import { buildRow, patchRow } from "./row";
import { buildThreadHead } from "./thread-head";
import { asString, drawer, type Mount, onModel, pickerShown, type View } from "./view";

const ROW_HEIGHT = 22;
/** Bodies of on-screen rows up to this size are fetched ahead of a click. */
const PREFETCH_MAX_SIZE = 256 * 1024;
/** Ask for older rows when the list's first drawn row is this close to the top. */
const OLDER_MARGIN = 50;
/** New rows are drawn at most this often (ms): bounds layout and paint work in a live stream. */
const LIVE_DRAW_MS = 100;

class MessageList {
  private readonly s: MonitorState;
  readonly list: VirtualList;
  private threadLines: ThreadLines | null = null;
  private bodyTimer = 0;
  private laterTimer = 0;
  readonly scroller = h("div", {
    class: "jpf-list",
    "data-role": "list",
    tabindex: "-1",
    role: "list",
    "aria-label": "messages (arrow keys or j/k move, Enter opens, c copies)",
  });
  readonly jump = h(
    "button",
    { type: "button", class: "jpf-jump", "data-role": "jump-latest", "data-new": "0" },
    "↓ jump to latest",
  );
  /** Rows listed while scrolled up (shown on "jump to latest"). */
  private newRows = 0;
  /** The item the keyboard is on (its list key, "" for none) and whether to focus it. */
  private focusKey = "";
  private wantFocus = false;
  /** The element last given focus. */
  private focused: HTMLElement | null = null;
  readonly empty = h("div", { class: "jpf-empty" });
  readonly wrap = h("div", { class: "jpf-listwrap" }, this.scroller, this.jump, this.empty);
  private readonly hooks: ItemHooks = {
    redraw: (seq) => this.list.invalidate(this.itemKey(seq)),
    measure: () => this.list.schedule(),
    retry: (seq) => this.retryBody(seq),
    open: (seq) => this.toggleExpanded(seq, this.itemKey(seq)),
  };
  private readonly cleanups: (() => void)[] = [];

  constructor(
    parent: HTMLElement,
    private readonly v: View,
  ) {
    this.s = v.s;
    parent.append(this.wrap);
    const source: ListSource = {
      count: () => (this.s.mode === "threaded" ? this.lines().count : this.s.shown.length),
      keyAt: (i) =>
        this.s.mode === "threaded" ? (this.lines().at(i)?.key ?? "") : `r:${this.s.shown[i].seq}`,
      indexOf: (key) => this.indexOfKey(key),
      stampAt: (i) => this.stampAt(i),
      build: (i) => this.buildItem(i),
      patch: (el, i) => this.s.mode !== "threaded" && patchRow(this.v, el, this.s.shown[i]),
      arrange: (items) => this.arrange(items),
    };
    this.list = new VirtualList(this.scroller, source, ROW_HEIGHT, 8);
    this.list.liveInterval = LIVE_DRAW_MS;
    this.list.onFollowChange = (f) => {
      this.jump.hidden = f;
      if (f) this.countNew(-this.newRows);
    };
    this.list.onRendered = () => {
      this.showFocus();
      markCutPreviews(this.list.win);
      this.requestVisibleBodies();
      if (this.list.range[0] <= OLDER_MARGIN) this.s.askOlder();
    };
    this.jump.hidden = true;
    this.jump.addEventListener("click", () => this.list.jumpToEnd());
    this.scroller.addEventListener("click", this.onListClick);
    v.root.addEventListener("keydown", this.onKey);
    const note = drawer(() => this.drawEmpty(), 250);
    this.cleanups.push(
      this.s.subscribe((c) => {
        this.onListChange(c);
        if (c.kind !== "body") note.soon();
      }),
      onModel(v.model, ["change:status", "change:target"], note.now),
      effect(() => {
        this.s.rowsTick.value;
        this.s.pickerTick.value;
        this.v.pickerOpen.value;
        note.soon();
      }),
      () => note.dispose(),
    );
    this.list.schedule();
  }

  private onKey = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target as HTMLElement;
    if (t.closest("input, select, textarea, button, [contenteditable]")) return;
    const step = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[ev.key];
    if (ev.key === "End") this.list.jumpToEnd();
    else if (step) this.moveFocus(step);
    else if (ev.key === "Enter" && this.focusKey) this.openFocused();
    else if (ev.key === "c" && this.focusKey) this.copyFocused();
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  };

  private countNew(n: number): void {
    this.newRows += n;
    this.jump.dataset.new = String(this.newRows);
    setText(this.jump, this.newRows ? `↓ ${this.newRows} new` : "↓ jump to latest");
  }

  /** Move the keyboard to the next (1) or previous (-1) item, from the one on screen. */
  private moveFocus(step: number): void {
    const n = this.list.source.count();
    if (!n) return;
    let i = this.focusKey ? this.indexOfKey(this.focusKey) : -1;
    if (i < 0) i = step > 0 ? this.list.range[0] - 1 : Math.min(n, this.list.range[1] + 1);
    i = Math.max(0, Math.min(n - 1, i + step));
    this.focusKey = this.list.source.keyAt(i);
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

  /** Mark the keyboard's item (and give it focus after a key moved it). */
  private showFocus(): void {
    for (const el of this.list.win.querySelectorAll<HTMLElement>(".jpf-focused"))
      if (el !== this.elementOf(this.focusKey)) el.classList.remove("jpf-focused");
    const el = this.focusKey ? this.elementOf(this.focusKey) : null;
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

  private openFocused(): void {
    const key = this.focusKey;
    if (key.startsWith("r:")) {
      const seq = Number(key.slice(2));
      const row = this.s.rowBySeq(seq) ?? this.s.shown.find((r) => r.seq === seq);
      if (row && !isMarker(row)) this.toggleExpanded(seq, key);
    } else {
      if (this.v.collapsed.has(key)) this.v.collapsed.delete(key);
      else this.v.collapsed.add(key);
      this.relines();
    }
    this.wantFocus = true;
  }

  /** Copy the keyboard's row as JSON: its body when held, else its row. */
  private copyFocused(): void {
    const key = this.focusKey;
    const head = key.startsWith("r:") ? null : this.s.threadIx?.threads.get(key)?.head;
    const seq = head ? head.seq : Number(key.slice(2));
    const row = head ?? this.s.rowBySeq(seq) ?? this.s.shown.find((r) => r.seq === seq);
    if (!row) return;
    const text = JSON.stringify(this.s.bodies.get(seq) ?? row, null, 2);
    void copyText(text).then((ok) => {
      const el = this.elementOf(key);
      if (el) el.dataset.copied = ok ? "true" : "false";
    });
  }

  /** The empty list's note: why nothing is listed. */
  private drawEmpty(): void {
    const s = this.s;
    const text = pickerShown(this.v)
      ? ""
      : s.attachPending
        ? "attaching…"
        : emptyListText({
            status: asString(this.v.model.get("status")) || "connecting",
            held: s.store.size,
            shown: shownCount(s),
            historyAsked: s.historyAsked,
            target: s.target(),
          });
    setText(this.empty, text);
    if (this.empty.hidden !== !text) this.empty.hidden = !text;
  }

  /** The list item showing a row: its own line, or its thread's header when it heads one. */
  private itemKey(seq: number): string {
    if (this.s.mode === "threaded" && this.s.threadIx) {
      const row = this.s.rowBySeq(seq);
      const th = row && this.s.threadIx.threadOf(row);
      if (th && th.head === row) return th.key;
    }
    return `r:${seq}`;
  }

  /** The threaded lines, recomputed (O(threads)) at most once per change. */
  private lines(): ThreadLines {
    if (!this.threadLines)
      this.threadLines = new ThreadLines(this.s.threads().visible(), this.v.collapsed);
    return this.threadLines;
  }

  private relines(): void {
    this.threadLines = null;
    this.list.invalidate();
  }

  private indexOfKey(key: string): number {
    if (this.s.mode === "threaded") {
      const lines = this.lines();
      if (!key.startsWith("r:")) return lines.indexOfThread(key);
      const row = this.s.rowBySeq(Number(key.slice(2)));
      const th = row && this.s.threadIx?.threadOf(row);
      return th ? lines.indexOfRow(th, row.seq) : -1;
    }
    if (!key.startsWith("r:")) return -1;
    const seq = Number(key.slice(2));
    const i = lowerBound(this.s.shown, seq);
    return this.s.shown[i]?.seq === seq ? i : -1;
  }

  private lineRow(i: number): Row | undefined {
    const line = this.lines().at(i);
    if (!line) return undefined;
    return line.kind === "row" ? line.row : (line.thread.head ?? undefined);
  }

  private stampAt(i: number): string {
    let row: Row | undefined;
    let extra = "";
    if (this.s.mode === "threaded") {
      const line = this.lines().at(i);
      if (!line) return "";
      if (line.kind === "thread") {
        const th = line.thread;
        const head = th.head;
        const open =
          head && this.v.expanded.has(head.seq)
            ? `e|${detailMode(this.v, head.seq)}|${this.s.bodies.has(head.seq)}|${this.s.bodies.errors.has(head.seq)}`
            : "c";
        return `t|${th.rows.length}|${th.busyMs}|${th.busyOpen}|${this.v.collapsed.has(th.key)}|${th.code.length}|${th.target}|${head?.seq ?? -1}|${th.reply?.seq ?? -1}|${open}`;
      }
      row = line.row;
      extra = `|${line.depth}`;
    } else row = this.s.shown[i];
    if (!row) return "";
    if (!this.v.expanded.has(row.seq))
      return showsPreview(this.v, row) ? `${previewStamp(this.v, row)}${extra}` : `c${extra}`;
    return `e|${detailMode(this.v, row.seq)}|${this.s.bodies.has(row.seq)}|${this.s.bodies.errors.has(row.seq)}${extra}`;
  }

  private buildItem(i: number): HTMLElement {
    if (this.s.mode === "threaded") {
      const line = this.lines().at(i) as Line;
      if (line.kind === "thread") return buildThreadHead(this.v, line.thread, this.hooks);
      return buildRow(this.v, line.row, line.depth, this.hooks);
    }
    return buildRow(this.v, this.s.shown[i], 0, this.hooks);
  }

  private arrange(items: { index: number; el: HTMLElement }[]): Node[] {
    if (this.s.mode !== "threaded") return items.map((x) => x.el);
    const out: Node[] = [];
    let group: HTMLElement | null = null;
    let groupKey = "";
    for (const { index, el } of items) {
      const th = (this.lines().at(index) as Line).thread;
      if (th.kind === "single") {
        group = null;
        out.push(el);
        continue;
      }
      if (!group || groupKey !== th.key) {
        group = h("div", {
          class: "jpf-thread",
          "data-role": "thread",
          role: "group",
          "data-parent-id": th.parentId,
          "data-comm-id": th.commId || undefined,
        });
        groupKey = th.key;
        out.push(group);
      }
      group.append(el);
    }
    return out;
  }

  /** Open or close a row's body (the list item `key` shows it). */
  private toggleExpanded(seq: number, key: string): void {
    if (this.v.expanded.has(seq)) {
      this.v.expanded.delete(seq);
      this.list.extras.delete(key);
    } else {
      this.v.expanded.add(seq);
      if (!this.s.bodies.has(seq)) this.retryBody(seq);
    }
    this.list.invalidate(key);
  }

  /** Ask for one body again (the user opened the row, or pressed "retry"). */
  private retryBody(seq: number): void {
    this.s.bodies.forget(seq);
    this.list.invalidate(this.itemKey(seq));
    this.requestVisibleBodies();
  }

  /**
   * Bodies of the rows on screen: those opened, and (unless the list follows a live tail, or in
   * threaded mode) small ones ahead of a click. Batched 100 ms after a draw.
   */
  private requestVisibleBodies(): void {
    if (this.bodyTimer) return;
    this.bodyTimer = window.setTimeout(() => {
      this.bodyTimer = 0;
      const [first, last] = this.list.range;
      const now = performance.now();
      const s = this.s;
      const want: number[] = [];
      // While the list follows a live tail, rows fly by: fetch only what the user opened (and
      // the rows showing content inline once the stream pauses).
      const onlyOpened = this.list.following && now - s.lastRowsAt < 500;
      let later = false;
      for (let i = first; i <= last && want.length < 200; i++) {
        const row = s.mode === "threaded" ? this.lineRow(i) : s.shown[i];
        if (!row || isMarker(row) || s.bodies.has(row.seq) || s.bodies.errors.has(row.seq))
          continue;
        const force = this.v.expanded.has(row.seq);
        const inline = showsPreview(this.v, row);
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
          this.requestVisibleBodies();
        }, 600);
    }, 100);
  }

  private onListClick = (ev: MouseEvent) => {
    const target = ev.target as HTMLElement;
    if (target.closest(".jpf-detail, .jpf-preview")) return;
    const head = target.closest<HTMLElement>(".jpf-thread-head");
    if (head?.dataset.threadKey) {
      const key = head.dataset.threadKey;
      const request = this.s.threadIx?.threads.get(key)?.head;
      if (request && target.closest(".jpf-head-request")) {
        // A captured request: a click on it shows its body (the caret still collapses).
        this.toggleExpanded(request.seq, key);
        return;
      }
      if (this.v.collapsed.has(key)) this.v.collapsed.delete(key);
      else this.v.collapsed.add(key);
      this.relines();
      return;
    }
    const rowEl = target.closest<HTMLElement>("[data-role=row]");
    if (!rowEl || rowEl.classList.contains("jpf-marker")) return;
    const seq = Number(rowEl.dataset.seq);
    this.toggleExpanded(seq, `r:${seq}`);
  };

  /** The listed rows changed (in the model's state): update the virtual list. */
  private onListChange = (c: ListChange): void => {
    const list = this.list;
    switch (c.kind) {
      case "cleared":
        this.v.expanded.clear();
        this.v.rowMode.clear();
        this.v.mimeChoice.clear();
        this.v.collapsed.clear();
        list.extras.clear();
        this.threadLines = null;
        list.jumpToEnd();
        list.invalidate();
        break;
      case "mode":
        list.extras.clear();
        this.threadLines = null;
        list.invalidate();
        break;
      case "reset":
      case "narrowed":
        this.threadLines = null;
        list.invalidate();
        break;
      case "live":
        if (!list.following && c.added) this.countNew(c.added);
        if (this.s.threadIx) this.threadLines = null;
        else list.shiftUp(c.removed);
        list.scheduleLive();
        break;
      case "older":
        if (c.added) {
          list.shiftDown(c.added);
          list.invalidate();
        } else list.schedule(); // still at the top: ask again below where the search stopped
        break;
      case "body":
        if (this.v.expanded.has(c.seq) || this.s.density === "comfortable")
          list.invalidate(this.itemKey(c.seq));
        break;
    }
  };

  dispose(): void {
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
    clearTimeout(this.bodyTimer);
    clearTimeout(this.laterTimer);
    this.v.root.removeEventListener("keydown", this.onKey);
    this.list.dispose();
    this.wrap.remove();
  }
}

export const mountList: Mount = (parent, v) => {
  const list = new MessageList(parent, v);
  return () => list.dispose();
};
