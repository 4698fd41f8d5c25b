/**
 * What the message list's virtual list draws: the rows the model lists, or in threaded mode the
 * threads' header lines and their rows (`ThreadLines`, recomputed at most once per change). Gives
 * each item its key (`r:<seq>` for a row, the thread's key for a header), a stamp that changes
 * whenever its element must be rebuilt (else a reused element is patched in place), and groups a
 * thread's drawn lines in one element.
 */
import { h } from "../dom";
import { lowerBound } from "../store";
import { type Line, ThreadLines } from "../threads";
import type { Row } from "../types";
import type { ListSource } from "../virtual-list";
import { detailMode, type ItemHooks } from "./detail";
import { previewStamp, showsPreview } from "./preview";
import { buildRow, patchRow } from "./row";
import { buildThreadHead } from "./thread-head";
import type { View } from "./view";

export class ListItems implements ListSource {
  private threadLines: ThreadLines | null = null;

  constructor(
    private readonly v: View,
    private readonly hooks: ItemHooks,
  ) {}

  private get threaded(): boolean {
    return this.v.s.mode === "threaded";
  }

  /** The threads or their collapsing changed: recompute the lines when next asked. */
  relines(): void {
    this.threadLines = null;
  }

  /** The threaded lines. */
  private lines(): ThreadLines {
    if (!this.threadLines)
      this.threadLines = new ThreadLines(this.v.s.threads().visible(), this.v.collapsed);
    return this.threadLines;
  }

  count(): number {
    return this.threaded ? this.lines().count : this.v.s.listing.shown.length;
  }

  keyAt(i: number): string {
    return this.threaded ? (this.lines().at(i)?.key ?? "") : `r:${this.v.s.listing.shown[i].seq}`;
  }

  /** The list item showing a row: its own line, or its thread's header when it heads one. */
  itemKey(seq: number): string {
    const s = this.v.s;
    if (this.threaded && s.threading.ix) {
      const row = s.rowBySeq(seq);
      const th = row && s.threading.ix.threadOf(row);
      if (th && th.head === row) return th.key;
    }
    return `r:${seq}`;
  }

  indexOf(key: string): number {
    const s = this.v.s;
    if (this.threaded) {
      const lines = this.lines();
      if (!key.startsWith("r:")) return lines.indexOfThread(key);
      const row = s.rowBySeq(Number(key.slice(2)));
      const th = row && s.threading.ix?.threadOf(row);
      return th ? lines.indexOfRow(th, row.seq) : -1;
    }
    if (!key.startsWith("r:")) return -1;
    const seq = Number(key.slice(2));
    const shown = s.listing.shown;
    const i = lowerBound(shown, seq);
    return shown[i]?.seq === seq ? i : -1;
  }

  /** The row an item shows (a thread's header: its captured request, if any). */
  rowAt(i: number): Row | undefined {
    if (!this.threaded) return this.v.s.listing.shown[i];
    const line = this.lines().at(i);
    if (!line) return undefined;
    return line.kind === "row" ? line.row : (line.thread.head ?? undefined);
  }

  stampAt(i: number): string {
    const v = this.v;
    const bodies = v.s.bodies;
    let row: Row | undefined;
    let extra = "";
    if (this.threaded) {
      const line = this.lines().at(i);
      if (!line) return "";
      if (line.kind === "thread") {
        const th = line.thread;
        const head = th.head;
        const open =
          head && v.expanded.has(head.seq)
            ? `e|${detailMode(v, head.seq)}|${bodies.has(head.seq)}|${bodies.errors.has(head.seq)}`
            : "c";
        return `t|${th.rows.length}|${th.busyMs}|${th.busyOpen}|${v.collapsed.has(th.key)}|${th.code.length}|${th.target}|${head?.seq ?? -1}|${th.reply?.seq ?? -1}|${open}`;
      }
      row = line.row;
      extra = `|${line.depth}`;
    } else row = v.s.listing.shown[i];
    if (!row) return "";
    if (!v.expanded.has(row.seq))
      return showsPreview(v, row) ? `${previewStamp(v, row)}${extra}` : `c${extra}`;
    return `e|${detailMode(v, row.seq)}|${bodies.has(row.seq)}|${bodies.errors.has(row.seq)}${extra}`;
  }

  build(i: number): HTMLElement {
    if (this.threaded) {
      const line = this.lines().at(i) as Line;
      if (line.kind === "thread") return buildThreadHead(this.v, line.thread, this.hooks);
      return buildRow(this.v, line.row, line.depth, this.hooks);
    }
    return buildRow(this.v, this.v.s.listing.shown[i], 0, this.hooks);
  }

  /** An arrow: the virtual list calls it unbound. */
  patch = (el: HTMLElement, i: number): boolean =>
    !this.threaded && patchRow(this.v, el, this.v.s.listing.shown[i]);

  arrange(items: { index: number; el: HTMLElement }[]): Node[] {
    if (!this.threaded) return items.map((x) => x.el);
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
}
