/**
 * The message list: drives a virtual list (fixed-height rows, measured opened ones, tail
 * following, element reuse) over the list's items (`list-items.ts`) from the model's list
 * changes; opens rows and collapses threads on a click. Its parts: the bodies of the rows on
 * screen (`list-bodies.ts`), the keyboard (`list-keys.ts`), stick to bottom and "jump to latest"
 * (`list-follow.ts`), the empty list's note (`list-empty.ts`).
 */
import { h } from "../dom";
import type { ListChange } from "../model/state";
import { VirtualList } from "../virtual-list";
import type { ItemHooks } from "./detail";
import { ScreenBodies } from "./list-bodies";
import { mountEmptyNote } from "./list-empty";
import { FollowButton } from "./list-follow";
import { ListItems } from "./list-items";
import { ListKeys } from "./list-keys";
import { markCutPreviews } from "./preview";
import type { Mount, View } from "./view";

const ROW_HEIGHT = 22;
/** Ask for older rows when the list's first drawn row is this close to the top. */
const OLDER_MARGIN = 50;
/** New rows are drawn at most this often (ms): bounds layout and paint work in a live stream. */
const LIVE_DRAW_MS = 100;

class MessageList {
  readonly scroller = h("div", {
    class: "jpf-list",
    "data-role": "list",
    tabindex: "-1",
    role: "list",
    "aria-label": "messages (arrow keys or j/k move, Enter opens, c copies)",
  });
  private readonly wrap = h("div", { class: "jpf-listwrap" }, this.scroller);
  private readonly items: ListItems;
  private readonly list: VirtualList;
  private readonly bodies: ScreenBodies;
  private readonly keys: ListKeys;
  private readonly follow: FollowButton;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    parent: HTMLElement,
    private readonly v: View,
  ) {
    parent.append(this.wrap);
    const hooks: ItemHooks = {
      redraw: (seq) => this.list.invalidate(this.items.itemKey(seq)),
      measure: () => this.list.schedule(),
      retry: (seq) => this.bodies.retry(seq),
      open: (seq) => this.toggleRow(seq, this.items.itemKey(seq)),
    };
    this.items = new ListItems(v, hooks);
    this.list = new VirtualList(this.scroller, this.items, ROW_HEIGHT, 8);
    this.list.liveInterval = LIVE_DRAW_MS;
    this.bodies = new ScreenBodies(v, this.list, this.items);
    this.keys = new ListKeys(v, this.list, {
      toggleRow: (seq, key) => this.toggleRow(seq, key),
      toggleThread: (key) => this.toggleThread(key),
    });
    this.follow = new FollowButton(this.list);
    this.wrap.append(this.follow.el);
    this.list.onRendered = () => {
      this.keys.show();
      markCutPreviews(this.list.win);
      this.bodies.request();
      if (this.list.range[0] <= OLDER_MARGIN) v.s.askOlder();
    };
    this.scroller.addEventListener("click", this.onClick);
    this.cleanups.push(mountEmptyNote(this.wrap, v), v.s.subscribe(this.onListChange));
    this.list.schedule();
  }

  /** Open or close a row's body (the list item `key` shows it). */
  private toggleRow(seq: number, key: string): void {
    const v = this.v;
    if (v.expanded.has(seq)) {
      v.expanded.delete(seq);
      this.list.extras.delete(key);
    } else {
      v.expanded.add(seq);
      if (!v.s.bodies.has(seq)) this.bodies.retry(seq);
    }
    this.list.invalidate(key);
  }

  private toggleThread(key: string): void {
    if (this.v.collapsed.has(key)) this.v.collapsed.delete(key);
    else this.v.collapsed.add(key);
    this.items.relines();
    this.list.invalidate();
  }

  private onClick = (ev: MouseEvent) => {
    const target = ev.target as HTMLElement;
    if (target.closest(".jpf-detail, .jpf-preview")) return;
    const head = target.closest<HTMLElement>(".jpf-thread-head");
    if (head?.dataset.threadKey) {
      const key = head.dataset.threadKey;
      const request = this.v.s.threading.ix?.threads.get(key)?.head;
      // A captured request: a click on it shows its body (the caret still collapses).
      if (request && target.closest(".jpf-head-request")) this.toggleRow(request.seq, key);
      else this.toggleThread(key);
      return;
    }
    const rowEl = target.closest<HTMLElement>("[data-role=row]");
    if (!rowEl || rowEl.classList.contains("jpf-marker")) return;
    const seq = Number(rowEl.dataset.seq);
    this.toggleRow(seq, `r:${seq}`);
  };

  /** The listed rows changed (in the model's state): update the virtual list. */
  private onListChange = (c: ListChange): void => {
    const v = this.v;
    const list = this.list;
    switch (c.kind) {
      case "cleared":
        v.expanded.clear();
        v.rowMode.clear();
        v.mimeChoice.clear();
        v.collapsed.clear();
        list.extras.clear();
        this.items.relines();
        list.jumpToEnd();
        list.invalidate();
        break;
      case "mode":
        list.extras.clear();
        this.items.relines();
        list.invalidate();
        break;
      case "reset":
      case "narrowed":
        this.items.relines();
        list.invalidate();
        break;
      case "live":
        this.follow.listed(c.added);
        if (v.s.threading.ix) this.items.relines();
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
        if (v.expanded.has(c.seq) || v.s.density === "comfortable")
          list.invalidate(this.items.itemKey(c.seq));
        break;
      case "problems":
        for (const seq of c.seqs) list.invalidate(this.items.itemKey(seq));
        break;
    }
  };

  dispose(): void {
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
    this.bodies.dispose();
    this.keys.dispose();
    this.list.dispose();
    this.wrap.remove();
  }
}

export const mountList: Mount = (parent, v) => {
  const list = new MessageList(parent, v);
  return () => list.dispose();
};
