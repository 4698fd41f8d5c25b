/**
 * jpf_widget's view: the anywidget entry. Wires the model (traits, custom messages) to the
 * header, the filters, the status lane and the virtualized message list. See ../README.md.
 */
import { effect } from "@preact/signals-core";
import { buildRouteChips, fillRoute, routeKey, routeSpan } from "./clients";
import { copyButton, h, setText } from "./dom";
import { isMarker } from "./filter";
import { captureNote, connectionSummary, emptyListText } from "./header";
import { laneSegments } from "./lane";
import { forgetState, type ListChange, type MonitorState, stateOf } from "./model/state";
import { buildPicker, toKernels, updatePickerTimes } from "./picker";
import { renderBody, renderRaw } from "./render";
import { lowerBound } from "./store";
import { type Line, replyStatus, type Thread, ThreadLines } from "./threads";
import { throttleDelay } from "./throttle";
import { formatBytes, formatDuration, formatIsoTime, formatTime, shortId } from "./time";
import type { Counters, Model, Row, ViewMode } from "./types";
import { VIEW_MODES } from "./types";
import { type ListSource, VirtualList } from "./virtual-list";

const ROW_HEIGHT = 22;
/** Bodies of on-screen rows up to this size are fetched ahead of a click. */
const PREFETCH_MAX_SIZE = 256 * 1024;
/** Ask for older rows when the list's first drawn row is this close to the top. */
const OLDER_MARGIN = 50;
/** New rows are drawn at most this often (ms): bounds layout and paint work in a live stream. */
const LIVE_DRAW_MS = 100;
/** Counters, chips and the status lane follow row traffic at most this often (ms). */
const CHROME_INTERVAL = 250;

function asString(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function asObj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const STATUS_WORDS: Record<string, string> = {
  connecting: "connecting",
  connected: "connected",
  unresponsive: "unresponsive",
  restarting: "restarting",
  dead: "dead",
  closed: "closed",
  failed: "failed",
};

class MonitorView {
  private readonly root: HTMLDivElement;
  private threadLines: ThreadLines | null = null;
  private readonly expanded = new Set<number>();
  private readonly rowMode = new Map<number, "raw" | "rendered">();
  private readonly mimeChoice = new Map<number, string>();
  private readonly collapsed = new Set<string>();
  private laneTimer = 0;
  private chromeFrame = 0;
  private chromeTimer = 0;
  private chromeLast = Number.NEGATIVE_INFINITY;
  private textFrame = 0;
  private chromeDirty = { header: true, counters: true, chips: true, lane: true };
  /** The picker was opened with "switch kernel" (it is also shown while there is no target). */
  private pickerOpen = false;
  private pickerDirty = true;
  private readonly list: VirtualList;
  private readonly cleanups: (() => void)[] = [];

  // DOM parts
  private readonly el = {
    status: h("span", { class: "jpf-status", "data-role": "status" }),
    detail: h("div", { class: "jpf-detail-text", "data-role": "status-detail" }),
    kernelId: h("code", { class: "jpf-kid", "data-role": "kernel-id" }),
    kernelInfo: h("span", { class: "jpf-kinfo", "data-role": "kernel-info" }),
    connection: h("span", { class: "jpf-conn", "data-role": "connection" }),
    capture: h("span", { class: "jpf-capture" }),
    captureNote: h("div", { class: "jpf-capture-line" }),
    counters: h("div", { class: "jpf-counters" }),
    modes: h("div", { class: "jpf-modes", role: "group", "aria-label": "view mode" }),
    pause: h("button", { type: "button", "data-role": "pause", class: "jpf-btn" }),
    clear: h(
      "button",
      {
        type: "button",
        "data-role": "clear",
        class: "jpf-btn",
        title: "Hide the rows captured so far",
      },
      "Clear",
    ),
    showStatus: h("input", { type: "checkbox", "data-role": "show-status" }),
    showOwn: h("input", { type: "checkbox", "data-role": "show-own" }),
    switchKernel: h(
      "button",
      {
        type: "button",
        class: "jpf-btn jpf-small",
        "data-role": "switch-kernel",
        title: "Attach to another kernel",
      },
      "switch kernel",
    ),
    picker: h("div", { class: "jpf-pickerwrap" }),
    filterText: h("input", {
      type: "search",
      "data-role": "filter-text",
      placeholder: "filter: text, msg_id, comm_id…",
      "aria-label": "filter text",
    }),
    channels: h("div", { class: "jpf-chips jpf-channel-chips" }),
    routes: h("div", { class: "jpf-chips jpf-route-chips" }),
    types: h("div", { class: "jpf-chips jpf-type-chips" }),
    lane: h("div", { class: "jpf-lane", "data-role": "status-lane", title: "kernel busy/idle" }),
    laneLabel: h("span", { class: "jpf-lane-label" }),
    scroller: h("div", { class: "jpf-list", "data-role": "list", tabindex: "-1" }),
    jump: h(
      "button",
      { type: "button", class: "jpf-jump", "data-role": "jump-latest" },
      "↓ jump to latest",
    ),
    pausedNote: h("span", { class: "jpf-paused-note" }),
    empty: h("div", { class: "jpf-empty" }),
  };

  /** The model's state, shared with the model's other views. */
  private readonly s: MonitorState;
  private bodyTimer = 0;

  constructor(
    private readonly model: Model,
    host: HTMLElement,
  ) {
    this.s = stateOf(model);
    this.root = h("div", {
      class: "jpf-monitor",
      tabindex: "0",
      "aria-label": "Jupyter kernel message monitor",
    });
    this.buildDom();
    host.append(this.root);
    const source: ListSource = {
      count: () => (this.s.mode === "threaded" ? this.lines().count : this.s.shown.length),
      keyAt: (i) =>
        this.s.mode === "threaded" ? (this.lines().at(i)?.key ?? "") : `r:${this.s.shown[i].seq}`,
      indexOf: (key) => this.indexOfKey(key),
      stampAt: (i) => this.stampAt(i),
      build: (i) => this.buildItem(i),
      patch: (el, i) => this.s.mode !== "threaded" && this.patchRow(el, this.s.shown[i]),
      arrange: (items) => this.arrange(items),
    };
    this.list = new VirtualList(this.el.scroller, source, ROW_HEIGHT, 8);
    this.list.liveInterval = LIVE_DRAW_MS;
    this.list.onFollowChange = (f) => {
      this.el.jump.hidden = f;
    };
    this.list.onRendered = () => {
      this.requestVisibleBodies();
      if (this.list.range[0] <= OLDER_MARGIN) this.s.askOlder();
    };
    this.el.jump.hidden = true;
    this.cleanups.push(this.s.subscribe(this.onListChange));
    this.listen();
    this.syncInputs();
    this.s.askHistory();
    if (!this.s.target()) this.s.refreshKernels();
    this.scheduleChrome();
    this.list.schedule();
    this.laneTimer = window.setInterval(() => {
      this.chromeDirty.lane = true;
      this.scheduleChromeSoon();
      const panel = this.el.picker.firstElementChild;
      if (panel instanceof HTMLElement) updatePickerTimes(panel, Date.now());
    }, 1000);
  }

  /** The listed rows changed (in the model's state): update the virtual list. */
  private onListChange = (c: ListChange): void => {
    const list = this.list;
    switch (c.kind) {
      case "cleared":
        this.expanded.clear();
        this.rowMode.clear();
        this.mimeChoice.clear();
        this.collapsed.clear();
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
        if (this.expanded.has(c.seq)) list.invalidate(this.itemKey(c.seq));
        break;
    }
    if (c.kind !== "body" && c.kind !== "live") {
      this.chromeDirty.counters = true;
      this.scheduleChrome();
    }
  };

  /** Redraw the header's parts when traits or the model's state change. */
  private listen(): void {
    for (const name of [
      "status",
      "status_detail",
      "kernel_id",
      "connection",
      "kernel_info",
      "target",
      "capture",
    ]) {
      this.on(`change:${name}`, () => {
        this.chromeDirty.header = true;
        this.chromeDirty.chips = true;
        this.chromeDirty.counters = true;
        this.pickerDirty = true;
        this.scheduleChrome();
      });
    }
    for (const name of ["kernels", "kernels_error"]) {
      this.on(`change:${name}`, () => {
        this.pickerDirty = true;
        this.scheduleChrome();
      });
    }
    this.on("change:counters", () => {
      this.chromeDirty.counters = true;
      this.chromeDirty.chips = true;
      this.scheduleChromeSoon();
    });
    const s = this.s;
    let first = true;
    this.cleanups.push(
      effect(() => {
        s.rowsTick.value;
        if (first) return;
        this.chromeDirty.counters = true;
        this.chromeDirty.chips = true;
        this.chromeDirty.lane = true;
        this.scheduleChromeSoon();
      }),
      effect(() => {
        s.settingsTick.value;
        if (first) return;
        this.syncInputs();
        this.chromeDirty.header = true;
        this.chromeDirty.chips = true;
        this.chromeDirty.counters = true;
        this.scheduleChrome();
      }),
      effect(() => {
        s.pickerTick.value;
        s.refreshing.value;
        if (first) return;
        this.pickerDirty = true;
        this.chromeDirty.counters = true;
        this.scheduleChrome();
      }),
      effect(() => {
        s.attachFailed.value;
        if (first) return;
        this.pickerOpen = true;
        this.pickerDirty = true;
        this.scheduleChrome();
      }),
    );
    first = false;
  }

  /** Show the shared settings in this view's inputs (not what the user is typing in them). */
  private syncInputs(): void {
    const f = this.s.filters;
    if (document.activeElement !== this.el.filterText && this.s.typedText === null) {
      this.el.filterText.value = f.text;
    }
    this.el.showStatus.checked = f.showStatus;
    this.el.showOwn.checked = f.showOwn === true;
    this.root.dataset.view = this.s.mode;
  }

  /** The filter text box changed: apply it at the next frame (the model saves it later). */
  private onFilterInput = () => {
    if (this.textFrame) return;
    this.textFrame = requestAnimationFrame(() => {
      this.textFrame = 0;
      this.s.typeText(this.el.filterText.value);
      // Draw in this same frame: the rows land with the filter, not one frame later.
      this.list.draw();
    });
  };

  /** Attach to a kernel chosen in the picker: close it; the model starts the window over. */
  private attach(kernelId: string): void {
    this.pickerOpen = false;
    this.pickerDirty = true;
    this.s.attach(kernelId);
  }

  /** Ask for one body again (the user opened the row, or pressed "retry"). */
  private retryBody(seq: number): void {
    this.s.forgetBody(seq);
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
      // While the list follows a live tail, rows fly by: fetch only what the user opened.
      const onlyOpened = this.list.following && now - s.lastRowsAt < 500;
      for (let i = first; i <= last && want.length < 200; i++) {
        const row = s.mode === "threaded" ? this.lineRow(i) : s.shown[i];
        if (!row || isMarker(row) || s.bodies.has(row.seq) || s.bodyErrors.has(row.seq)) continue;
        const force = this.expanded.has(row.seq);
        if (!force && (onlyOpened || s.mode === "threaded" || row.size > PREFETCH_MAX_SIZE)) {
          continue;
        }
        want.push(row.seq);
      }
      s.fetchBodies(want, now);
    }, 100);
  }

  // ---------------------------------------------------------------- model wiring

  private on(event: string, cb: (a?: unknown, b?: unknown) => void): void {
    this.model.on(event, cb);
    this.cleanups.push(() => this.model.off(event, cb));
  }

  private openPicker(open: boolean): void {
    this.pickerOpen = open;
    if (open) this.s.refreshKernels();
    this.pickerDirty = true;
    this.scheduleChrome();
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
      this.threadLines = new ThreadLines(this.s.threads().visible(), this.collapsed);
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

  // ---------------------------------------------------------------- list items

  private detailMode(seq: number): "raw" | "rendered" {
    return this.rowMode.get(seq) ?? (this.s.mode === "raw" ? "raw" : "rendered");
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
          head && this.expanded.has(head.seq)
            ? `e|${this.detailMode(head.seq)}|${this.s.bodies.has(head.seq)}|${this.s.bodyErrors.has(head.seq)}`
            : "c";
        return `t|${th.rows.length}|${th.busyMs}|${th.busyOpen}|${this.collapsed.has(th.key)}|${th.code.length}|${th.target}|${head?.seq ?? -1}|${th.reply?.seq ?? -1}|${open}`;
      }
      row = line.row;
      extra = `|${line.depth}`;
    } else row = this.s.shown[i];
    if (!row) return "";
    if (!this.expanded.has(row.seq)) return `c${extra}`;
    return `e|${this.detailMode(row.seq)}|${this.s.bodies.has(row.seq)}|${this.s.bodyErrors.has(row.seq)}${extra}`;
  }

  private buildItem(i: number): HTMLElement {
    if (this.s.mode === "threaded") {
      const line = this.lines().at(i) as Line;
      if (line.kind === "thread") return this.buildThreadHead(line.thread);
      return this.buildRow(line.row, line.depth);
    }
    return this.buildRow(this.s.shown[i], 0);
  }

  private buildRow(row: Row, depth: number): HTMLElement {
    const attrs = {
      "data-role": "row",
      "data-seq": String(row.seq),
      "data-msg-type": row.msg_type,
      "data-channel": row.channel,
      // Always present ("" when none), so rows rewritten in place keep the same attributes.
      "data-direction": row.direction,
      "data-client": row.client,
    };
    if (isMarker(row)) {
      return h(
        "div",
        { ...attrs, class: `jpf-row jpf-marker jpf-marker-${row.msg_type}`, title: row.date },
        h("span", { class: "jpf-time" }, formatTime(row.t)),
        h(
          "span",
          { class: "jpf-marker-text" },
          `${row.msg_type}${row.summary ? `: ${row.summary}` : ""}`,
        ),
      );
    }
    const open = this.expanded.has(row.seq);
    const el = h("div", { ...attrs, class: this.rowClass(row, open, depth) });
    const line = h(
      "div",
      { class: "jpf-line", title: `${row.msg_type} ${row.msg_id}` },
      h("span", { class: "jpf-caret" }, open ? "▾" : "▸"),
      h("span", { class: "jpf-time" }, formatTime(row.t)),
      h("span", { class: `jpf-chan jpf-chan-${row.channel}` }, row.channel),
      routeSpan(row),
      h("span", { class: `jpf-type jpf-type-${row.msg_type}` }, row.msg_type),
      row.msg_type === "status" ? h("span", { class: "jpf-dot", "data-state": row.state }) : null,
      h("span", { class: "jpf-summary" }, row.summary),
      h("span", { class: "jpf-size" }, formatBytes(row.size)),
    );
    el.append(line);
    if (open) el.append(this.buildDetail(row));
    return el;
  }

  /** The classes of a row element (as `buildRow` sets them). */
  private rowClass(row: Row, open: boolean, depth: number): string {
    return `jpf-row${open ? " jpf-expanded" : ""}${depth ? " jpf-nested" : ""}${row.own ? " jpf-own" : ""}`;
  }

  /**
   * Rewrite a collapsed row element (built by `buildRow`, depth 0) to show another collapsed
   * row, in place; false when the shapes differ (markers, the status dot).
   */
  private patchRow(el: HTMLElement, row: Row | undefined): boolean {
    if (!row || isMarker(row) || this.expanded.has(row.seq)) return false;
    if (el.classList.contains("jpf-marker") || el.classList.contains("jpf-expanded")) return false;
    const line = el.firstElementChild as HTMLElement | null;
    if (!line || el.childElementCount !== 1) return false;
    const status = row.msg_type === "status";
    const parts = line.children;
    if (parts.length !== (status ? 8 : 7)) return false;
    const [, time, chan, route, type] = parts as unknown as HTMLElement[];
    const dot = status ? (parts[5] as HTMLElement) : null;
    const summary = parts[status ? 6 : 5] as HTMLElement;
    const size = parts[status ? 7 : 6] as HTMLElement;
    if (status && !dot?.classList.contains("jpf-dot")) return false;
    if (!summary.classList.contains("jpf-summary")) return false;
    const set = (e: HTMLElement, name: string, v: string) => {
      if (e.getAttribute(name) !== v) e.setAttribute(name, v);
    };
    const was = {
      channel: el.getAttribute("data-channel") ?? "",
      direction: el.getAttribute("data-direction") ?? "",
      client: el.getAttribute("data-client") ?? "",
    };
    if (routeKey(was) !== routeKey(row)) fillRoute(route, row);
    set(el, "data-seq", String(row.seq));
    set(el, "data-msg-type", row.msg_type);
    set(el, "data-channel", row.channel);
    set(el, "data-direction", row.direction);
    set(el, "data-client", row.client);
    const cls = this.rowClass(row, false, 0);
    if (el.className !== cls) el.className = cls;
    const title = `${row.msg_type} ${row.msg_id}`;
    if (line.title !== title) line.title = title;
    setText(time, formatTime(row.t));
    const chanCls = `jpf-chan jpf-chan-${row.channel}`;
    if (chan.className !== chanCls) chan.className = chanCls;
    setText(chan, row.channel);
    const typeCls = `jpf-type jpf-type-${row.msg_type}`;
    if (type.className !== typeCls) type.className = typeCls;
    setText(type, row.msg_type);
    if (dot) set(dot, "data-state", row.state);
    setText(summary, row.summary);
    setText(size, formatBytes(row.size));
    return true;
  }

  private buildDetail(row: Row): HTMLElement {
    const mode = this.detailMode(row.seq);
    const body = this.s.bodies.get(row.seq);
    const toggle = h(
      "button",
      { type: "button", class: "jpf-btn jpf-small", "data-role": "toggle-raw" },
      mode === "raw" ? "show rendered" : "show raw",
    );
    toggle.addEventListener("click", (ev) => {
      ev.stopPropagation();
      this.rowMode.set(row.seq, mode === "raw" ? "rendered" : "raw");
      this.list.invalidate(this.itemKey(row.seq));
    });
    const bar = h(
      "div",
      { class: "jpf-detail-bar" },
      toggle,
      h("span", { class: "jpf-note" }, ` msg_id ${row.msg_id}`),
      row.parent_id
        ? h("span", { class: "jpf-note" }, ` · parent ${row.parent_type} ${row.parent_id}`)
        : null,
    );
    const detail = h("div", { class: "jpf-detail" }, bar);
    const failed = body ? undefined : this.s.bodyErrors.get(row.seq);
    if (failed !== undefined) {
      const retry = h(
        "button",
        { type: "button", class: "jpf-btn jpf-small", "data-role": "body-retry" },
        "retry",
      );
      retry.addEventListener("click", (ev) => {
        ev.stopPropagation();
        this.retryBody(row.seq);
      });
      detail.append(
        h(
          "div",
          { class: "jpf-note jpf-warn", "data-role": "body-error" },
          `could not load this message: ${failed} `,
          retry,
        ),
      );
    } else if (!body) {
      detail.append(h("div", { class: "jpf-note jpf-loading" }, "loading body…"));
    } else {
      try {
        detail.append(
          mode === "raw"
            ? renderRaw(body)
            : renderBody(row, body, {
                mimeChoice: this.mimeChoice,
                onResize: () => this.list.schedule(),
              }),
        );
      } catch (err) {
        detail.append(h("div", { class: "jpf-note jpf-warn" }, `could not render: ${String(err)}`));
      }
    }
    // Images load asynchronously: measure again when they do.
    for (const img of detail.querySelectorAll("img"))
      img.addEventListener("load", () => this.list.schedule(), { once: true });
    return detail;
  }

  private buildThreadHead(th: Thread): HTMLElement {
    const closed = this.collapsed.has(th.key);
    const bits: (Node | string | null)[] = [
      h(
        "span",
        { class: "jpf-caret", title: closed ? "expand the thread" : "collapse the thread" },
        closed ? "▸" : "▾",
      ),
    ];
    const head = th.head;
    if (th.kind === "comm") {
      bits.push(
        h("span", { class: "jpf-type" }, "comm"),
        h(
          "span",
          { class: "jpf-summary" },
          `${th.target || "(target unknown)"} · ${shortId(th.commId)}`,
        ),
      );
    } else if (head) {
      bits.push(
        h(
          "span",
          {
            class: "jpf-head-request",
            title: `${head.msg_type} ${head.msg_id} (click: show the request)`,
          },
          h("span", { class: "jpf-time" }, formatTime(head.t)),
          routeSpan(head),
          h("span", { class: "jpf-type" }, head.msg_type),
          h("span", { class: "jpf-summary" }, head.summary),
        ),
      );
    } else {
      const p = th.placeholder;
      const firstLine = th.code.split("\n", 1)[0];
      bits.push(
        h(
          "span",
          {
            class: "jpf-placeholder",
            "data-role": "placeholder",
            title: th.code || "request seen only through its replies",
          },
          h("span", { class: "jpf-time" }, p?.date ? formatIsoTime(p.date) : ""),
          h("span", { class: "jpf-type" }, p?.msg_type || "request"),
          p?.session ? h("span", { class: "jpf-note" }, `session ${shortId(p.session)}`) : null,
          th.rows.some((r) => r.own)
            ? h("span", { class: "jpf-note" }, "(the monitor's own)")
            : null,
          firstLine ? h("code", { class: "jpf-code-inline" }, firstLine) : null,
        ),
      );
    }
    const busy = th.busyOpen
      ? "busy…"
      : th.busyMs !== null
        ? `busy ${formatDuration(th.busyMs)}`
        : "";
    const meta = h(
      "span",
      { class: "jpf-thread-meta" },
      `${th.rows.length} msg${th.rows.length === 1 ? "" : "s"}${busy ? ` · ${busy}` : ""}`,
    );
    const status = th.reply ? replyStatus(th.reply) : "";
    if (th.reply) {
      meta.append(
        " · ",
        h(
          "span",
          {
            class: `jpf-reply jpf-reply-${status || "unknown"}`,
            "data-role": "reply-status",
            "data-status": status,
            title: `${th.reply.msg_type}: ${th.reply.summary}`,
          },
          status ? `reply ${status}` : "replied",
        ),
      );
      if (head) {
        meta.append(
          " ",
          h(
            "span",
            {
              class: "jpf-reply-time",
              "data-role": "reply-time",
              title: "from the request to its reply (as received by the monitor)",
            },
            `in ${formatDuration(Math.max(0, th.reply.t - head.t))}`,
          ),
        );
      }
    }
    bits.push(meta);
    const line = h(
      "div",
      {
        class: "jpf-thread-head",
        "data-thread-key": th.key,
        "data-head": th.kind === "comm" ? "comm" : head ? "request" : "placeholder",
        "data-direction": head?.direction || undefined,
        "data-client": head?.client || undefined,
        "data-reply-status": th.reply ? status || "unknown" : undefined,
      },
      ...bits,
    );
    if (!head || !this.expanded.has(head.seq)) return line;
    // The request, opened: its body below the header line.
    return h(
      "div",
      { class: "jpf-head-open jpf-expanded", "data-head-seq": String(head.seq) },
      line,
      this.buildDetail(head),
    );
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

  private onListClick = (ev: MouseEvent) => {
    const target = ev.target as HTMLElement;
    if (target.closest(".jpf-detail")) return;
    const head = target.closest<HTMLElement>(".jpf-thread-head");
    if (head?.dataset.threadKey) {
      const key = head.dataset.threadKey;
      const request = this.s.threadIx?.threads.get(key)?.head;
      if (request && target.closest(".jpf-head-request")) {
        // A captured request: a click on it shows its body (the caret still collapses).
        this.toggleExpanded(request.seq, key);
        return;
      }
      if (this.collapsed.has(key)) this.collapsed.delete(key);
      else this.collapsed.add(key);
      this.relines();
      return;
    }
    const rowEl = target.closest<HTMLElement>("[data-role=row]");
    if (!rowEl || rowEl.classList.contains("jpf-marker")) return;
    const seq = Number(rowEl.dataset.seq);
    this.toggleExpanded(seq, `r:${seq}`);
  };

  /** Open or close a row's body (the list item `key` shows it). */
  private toggleExpanded(seq: number, key: string): void {
    if (this.expanded.has(seq)) {
      this.expanded.delete(seq);
      this.list.extras.delete(key);
    } else {
      this.expanded.add(seq);
      if (!this.s.bodies.has(seq)) this.retryBody(seq);
    }
    this.list.invalidate(key);
  }

  // ---------------------------------------------------------------- chrome (header, filters, lane)

  private buildDom(): void {
    const e = this.el;
    for (const m of VIEW_MODES) {
      const b = h(
        "button",
        {
          type: "button",
          class: "jpf-btn jpf-mode",
          "data-role": "mode",
          "data-mode": m,
          title: `${m} (${m[0]} or ${VIEW_MODES.indexOf(m) + 1})`,
        },
        m,
      );
      b.addEventListener("click", () => this.s.chooseMode(m));
      e.modes.append(b);
    }
    e.pause.addEventListener("click", () => this.s.save("paused", !this.s.paused));
    e.clear.addEventListener("click", () => {
      if (this.s.store.lastSeq >= 0) this.s.save("cleared_seq", this.s.store.lastSeq);
    });
    e.showStatus.addEventListener("change", () => this.s.save("show_status", e.showStatus.checked));
    e.showOwn.addEventListener("change", () => {
      this.s.setShowOwn(e.showOwn.checked);
    });
    e.switchKernel.addEventListener("click", () => this.openPicker(!this.pickerOpen));
    e.filterText.addEventListener("input", this.onFilterInput);
    e.jump.addEventListener("click", () => this.list.jumpToEnd());
    e.scroller.addEventListener("click", this.onListClick);
    const copyId = copyButton(
      () => asString(this.model.get("kernel_id")),
      "copy-kernel-id",
      "copy",
    );
    copyId.title = "Copy the kernel id";
    const header = h(
      "div",
      { class: "jpf-header" },
      h(
        "div",
        { class: "jpf-hline" },
        e.status,
        h("span", { class: "jpf-kidwrap" }, "kernel ", e.kernelId, copyId),
        e.kernelInfo,
        e.connection,
        e.capture,
        e.switchKernel,
      ),
      e.captureNote,
      e.detail,
      e.counters,
    );
    const toolbar = h(
      "div",
      { class: "jpf-toolbar" },
      e.modes,
      e.pause,
      e.clear,
      h(
        "label",
        { class: "jpf-check", title: "Also list status messages" },
        e.showStatus,
        " status",
      ),
      h(
        "label",
        {
          class: "jpf-check",
          title:
            "Also list the monitor's own probes: its kernel_info replies and the status messages they cause",
        },
        e.showOwn,
        " own",
      ),
      e.channels,
      e.routes,
      e.filterText,
      e.pausedNote,
    );
    const laneWrap = h("div", { class: "jpf-lanewrap" }, e.lane, e.laneLabel);
    const listWrap = h("div", { class: "jpf-listwrap" }, e.scroller, e.jump, e.empty);
    this.root.append(header, e.picker, toolbar, e.types, laneWrap, listWrap);
    this.root.addEventListener("keydown", this.onKey);
    window.addEventListener("keydown", this.onKeyCapture, true);
  }

  /**
   * JupyterLab (Lumino) handles shortcuts in the capture phase on `document`. For plain keys
   * (no Ctrl/Meta/Alt) typed while the monitor has focus, mark the monitor with
   * `data-lm-suppress-shortcuts` just for this event, so command-mode keys (r, 1, x, ...) do not
   * act on the notebook; Ctrl+S and other chords keep working.
   */
  private onKeyCapture = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (!(ev.target instanceof Node) || !this.root.contains(ev.target)) return;
    if (ev.key === "Escape" || ev.key === "Tab") return;
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    setTimeout(() => this.root.removeAttribute("data-lm-suppress-shortcuts"), 0);
  };

  private onKey = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target as HTMLElement;
    if (t.closest("input, select, textarea, [contenteditable]")) return;
    const map: Record<string, ViewMode> = {
      r: "rendered",
      1: "rendered",
      w: "raw",
      2: "raw",
      t: "threaded",
      3: "threaded",
    };
    const mode = map[ev.key];
    if (mode) {
      ev.preventDefault();
      ev.stopPropagation();
      this.s.chooseMode(mode);
    } else if (ev.key === "End") {
      ev.preventDefault();
      this.list.jumpToEnd();
    }
  };

  /**
   * Row traffic (counters, chips, lane): redraw at most every CHROME_INTERVAL ms, so a live
   * stream does not restyle and relayout the header on every batch.
   */
  private scheduleChromeSoon(): void {
    if (this.chromeFrame || this.chromeTimer) return;
    const wait = throttleDelay(this.chromeLast, performance.now(), CHROME_INTERVAL);
    if (wait <= 0) this.scheduleChrome();
    else
      this.chromeTimer = window.setTimeout(() => {
        this.chromeTimer = 0;
        this.scheduleChrome();
      }, wait);
  }

  private scheduleChrome(): void {
    if (this.chromeFrame) return;
    this.chromeFrame = requestAnimationFrame(() => {
      this.chromeFrame = 0;
      this.chromeLast = performance.now();
      const d = this.chromeDirty;
      if (d.header) this.drawHeader();
      if (d.counters) this.drawCounters();
      if (d.chips) this.drawChips();
      if (d.lane) this.drawLane();
      if (this.pickerDirty) this.drawPicker();
      this.chromeDirty = { header: false, counters: false, chips: false, lane: false };
    });
  }

  private drawHeader(): void {
    const m = this.model;
    const e = this.el;
    const status = asString(m.get("status")) || "connecting";
    this.root.dataset.status = status;
    e.status.replaceChildren(
      h("span", { class: "jpf-dot", "data-state": status }),
      h("span", { class: "jpf-status-word" }, STATUS_WORDS[status] ?? status),
    );
    e.status.title = asString(m.get("target")) ? `target: ${asString(m.get("target"))}` : "";
    const detail = asString(m.get("status_detail"));
    e.detail.textContent = detail;
    e.detail.hidden = !detail;
    e.detail.classList.toggle(
      "jpf-alert",
      ["failed", "dead", "unresponsive", "restarting"].includes(status),
    );
    const kid = asString(m.get("kernel_id"));
    e.kernelId.textContent = kid ? shortId(kid) : "?";
    e.kernelId.title = kid;
    const ki = asObj(m.get("kernel_info"));
    const lang = asObj(ki.language_info);
    const parts = [
      [asString(ki.implementation), asString(ki.implementation_version)].filter(Boolean).join(" "),
      [asString(lang.name), asString(lang.version)].filter(Boolean).join(" "),
      ki.protocol_version ? `protocol ${asString(ki.protocol_version)}` : "",
    ].filter(Boolean);
    e.kernelInfo.textContent = parts.join(" · ");
    e.kernelInfo.title = asString(ki.banner);
    const conn = connectionSummary(asObj(m.get("connection")));
    e.connection.textContent = conn.text;
    e.connection.title = conn.title;
    e.connection.dataset.transport = asString(asObj(m.get("connection")).transport);
    this.drawCapture();
    for (const b of e.modes.querySelectorAll<HTMLButtonElement>("[data-role=mode]")) {
      b.setAttribute("aria-pressed", String(b.dataset.mode === this.s.mode));
    }
    e.pause.textContent = this.s.paused ? "Resume" : "Pause";
    e.pause.setAttribute("aria-pressed", String(this.s.paused));
    e.pausedNote.textContent = this.s.paused
      ? `paused${this.s.pendingWhilePaused ? ` · ${this.s.pendingWhilePaused} new` : ""}`
      : "";
  }

  private captureKey = "";

  /**
   * The capture badge ("full capture", through a tap) in the header's line, or the note saying
   * what is not seen (and how to see it) on a line of its own.
   */
  private drawCapture(): void {
    const capture = asString(this.model.get("capture"));
    this.root.dataset.capture = capture;
    const note = captureNote(capture);
    const key = `${capture}|${note.kind}`;
    if (this.captureKey === key) return;
    this.captureKey = key;
    this.el.capture.replaceChildren(
      note.kind === "badge"
        ? h(
            "span",
            { class: "jpf-capture-badge", "data-role": "capture-badge", title: note.title },
            note.text,
          )
        : "",
    );
    this.el.captureNote.replaceChildren(
      note.kind === "note"
        ? h(
            "span",
            {
              class: "jpf-capture-note",
              "data-role": "capture-note",
              "data-capture": capture,
              title: note.title,
            },
            note.text,
            h("code", {}, note.command),
            note.after,
          )
        : "",
    );
    this.el.captureNote.hidden = note.kind !== "note";
  }

  private drawCounters(): void {
    const c = asObj(this.model.get("counters")) as Counters;
    const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    const shown = this.s.mode === "threaded" ? this.lines().rowCount() : this.s.shown.length;
    const loss = asString(c.loss_detection);
    const items: [string, string, string, string][] = [
      [
        "captured",
        "captured",
        String(num(c.captured) || this.s.store.size),
        `${this.s.store.size} in this view${c.bytes ? ` · ${formatBytes(num(c.bytes))}` : ""}`,
      ],
      [
        "shown",
        "shown",
        String(shown),
        "rows listed: those of the window that pass the filters, and older ones scrolling up brought",
      ],
      [
        "lost",
        "possible loss",
        loss && loss !== "available" ? `${num(c.lost)} (${loss})` : String(num(c.lost)),
        `loss detection: ${loss || "unknown"}`,
      ],
      [
        "evicted",
        "evicted",
        String(num(c.evicted)),
        "dropped from the monitor's log (byte budget)",
      ],
      [
        "bad_signature",
        "bad signature",
        String(num(c.bad_signature)),
        "messages whose HMAC did not verify",
      ],
      ["malformed", "malformed", String(num(c.malformed)), "frames that could not be parsed"],
    ];
    if (this.model.get("capture") === "tap")
      items.push([
        "tap_dropped",
        "tap dropped",
        String(num(c.tap_dropped_frames)),
        "frames the tap relayed that its capture socket dropped before they reached the monitor",
      ]);
    if (this.s.paused)
      this.el.pausedNote.textContent = `paused${this.s.pendingWhilePaused ? ` · ${this.s.pendingWhilePaused} new` : ""}`;
    if (this.counterEls.size !== items.length) {
      this.counterEls.clear();
      const nodes = items.map(([key, label]) => {
        const value = h("span", { class: "jpf-cvalue" });
        const el = h(
          "span",
          { class: "jpf-counter", "data-role": "counter", "data-counter": key },
          h("span", { class: "jpf-clabel" }, `${label} `),
          value,
        );
        this.counterEls.set(key, { el, value });
        return el;
      });
      this.el.counters.replaceChildren(...nodes);
    }
    // Update in place, writing only what changed (a live stream redraws these often).
    for (const [key, , value, title] of items) {
      const parts = this.counterEls.get(key);
      if (!parts) continue;
      const bad =
        key !== "captured" && key !== "shown" && num((c as Record<string, unknown>)[key]) > 0;
      if (parts.el.classList.contains("jpf-bad") !== bad) parts.el.classList.toggle("jpf-bad", bad);
      if (parts.el.title !== title) parts.el.title = title;
      setText(parts.value, value);
    }
    const empty = this.pickerShown()
      ? ""
      : this.s.attachPending
        ? "attaching…"
        : emptyListText({
            status: asString(this.model.get("status")) || "connecting",
            held: this.s.store.size,
            shown,
            historyAsked: this.s.historyAsked,
            target: this.s.target(),
          });
    setText(this.el.empty, empty);
    if (this.el.empty.hidden !== !empty) this.el.empty.hidden = !empty;
  }

  private readonly counterEls = new Map<string, { el: HTMLElement; value: HTMLElement }>();

  private chipsKey = "";
  private chipsShape = "";

  /** Write the chips' counts in place; false when the chips are not the expected ones. */
  private updateChipCounts(types: [string, number][], byChan: Map<string, number>): boolean {
    const typeEls = this.el.types.querySelectorAll<HTMLElement>("[data-role=filter-type]");
    if (typeEls.length !== types.length) return false;
    for (let i = 0; i < types.length; i++) {
      const count = typeEls[i].querySelector<HTMLElement>(".jpf-count");
      if (!count || typeEls[i].dataset.msgType !== types[i][0]) return false;
      setText(count, String(types[i][1]));
    }
    for (const b of this.el.channels.querySelectorAll<HTMLElement>("[data-role=filter-channel]")) {
      const title = `${byChan.get(b.dataset.channel ?? "") ?? 0} messages`;
      if (b.title !== title) b.title = title;
    }
    return true;
  }

  private drawChips(): void {
    const c = asObj(this.model.get("counters")) as Counters;
    const byType =
      c.by_type && Object.keys(c.by_type).length
        ? new Map(Object.entries(c.by_type))
        : this.s.typeCounts;
    const byChan =
      c.by_channel && Object.keys(c.by_channel).length
        ? new Map(Object.entries(c.by_channel))
        : this.s.channelCounts;
    const f = this.s.filters;
    for (const t of f.types) if (!byType.has(t)) byType.set(t, 0);
    const types = [...byType.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const tapped = asString(this.model.get("capture")) === "tap";
    const base = tapped
      ? ["iopub", "shell", "control", "stdin", "monitor"]
      : ["iopub", "shell", "monitor"];
    const chans = [...base, ...[...byChan.keys()].filter((k) => !base.includes(k))];
    this.drawRouteChips(tapped);
    const key = JSON.stringify([types, [...byChan.entries()], f.types, f.channels]);
    if (key === this.chipsKey) return;
    this.chipsKey = key;
    // Same chips in the same order, only counts changed: update the numbers in place.
    const shape = JSON.stringify([types.map((t) => t[0]), chans, f.types, f.channels]);
    if (shape === this.chipsShape && this.updateChipCounts(types, byChan)) return;
    this.chipsShape = shape;
    const toggleIn = (list: readonly string[], v: string) =>
      list.includes(v) ? list.filter((x) => x !== v) : [...list, v];
    this.el.types.replaceChildren(
      h("span", { class: "jpf-note" }, f.types.length ? "only: " : "types: "),
      ...types.map(([t, n]) => {
        const b = h(
          "button",
          {
            type: "button",
            class: "jpf-chip",
            "data-role": "filter-type",
            "data-msg-type": t,
            "aria-pressed": String(f.types.includes(t)),
          },
          `${t} `,
          h("span", { class: "jpf-count" }, String(n)),
        );
        b.addEventListener("click", () =>
          this.s.save("filter_types", toggleIn(this.s.filters.types, t)),
        );
        return b;
      }),
    );
    this.el.channels.replaceChildren(
      ...chans.map((ch) => {
        const b = h(
          "button",
          {
            type: "button",
            class: "jpf-chip",
            "data-role": "filter-channel",
            "data-channel": ch,
            "aria-pressed": String(f.channels.includes(ch)),
            title: `${byChan.get(ch) ?? 0} messages`,
          },
          ch,
        );
        b.addEventListener("click", () =>
          this.s.save("filter_channels", toggleIn(this.s.filters.channels, ch)),
        );
        return b;
      }),
    );
  }

  private routeChipsKey = "";

  /** The direction chips (shown through a tap, or once a request was seen) and the client chips. */
  private drawRouteChips(tapped: boolean): void {
    const f = this.s.filters;
    const seen = [...this.s.clientCounts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    const showDirections = tapped || this.s.seenToKernel;
    const ids = seen.map(([c]) => c);
    // Counts only change the chips' titles: rebuild when the chips themselves change.
    const key = JSON.stringify([showDirections, ids, f.directions, f.clients]);
    const toggleIn = (list: readonly string[], v: string) =>
      list.includes(v) ? list.filter((x) => x !== v) : [...list, v];
    if (key !== this.routeChipsKey) {
      this.routeChipsKey = key;
      this.el.routes.replaceChildren(
        ...buildRouteChips({
          directions: f.directions,
          clients: f.clients,
          seen,
          showDirections,
          toggleDirection: (d) =>
            this.s.save("filter_directions", toggleIn(this.s.filters.directions, d)),
          toggleClient: (c) => this.s.save("filter_clients", toggleIn(this.s.filters.clients, c)),
        }),
      );
    }
    for (const b of this.el.routes.querySelectorAll<HTMLElement>("[data-role=filter-client]")) {
      const n = this.s.clientCounts.get(b.dataset.client ?? "") ?? 0;
      const title = `Show only client ${b.dataset.client}'s requests and replies (and iopub) · ${n} messages`;
      if (b.title !== title) b.title = title;
    }
  }

  private pickerShown(): boolean {
    return this.pickerOpen || (!this.s.target() && !this.s.attachPending);
  }

  private drawPicker(): void {
    this.pickerDirty = false;
    const show = this.pickerShown();
    this.root.dataset.picker = show ? "open" : "closed";
    this.el.switchKernel.setAttribute("aria-pressed", String(show));
    if (!show) {
      this.el.picker.replaceChildren();
      return;
    }
    const panel = buildPicker(
      {
        kernels: toKernels(this.model.get("kernels")),
        error: asString(this.model.get("kernels_error")),
        refreshing: this.s.refreshing.value,
        current: asString(this.model.get("kernel_id")),
        closable: this.s.target() !== "",
        now: Date.now(),
      },
      {
        refresh: () => this.s.refreshKernels(),
        attach: (kernelId) => this.attach(kernelId),
        close: () => this.openPicker(false),
      },
    );
    this.el.picker.replaceChildren(panel);
  }

  private drawLane(): void {
    const segs = laneSegments(this.s.statusRows, Date.now());
    const nodes = segs.map((s) => {
      const ms = s.end - s.start;
      const el = h("span", {
        class: "jpf-seg",
        "data-role": "lane-segment",
        "data-state": s.state,
        title: `${s.state} ${formatDuration(ms)}${s.open ? " (now)" : ""}${s.parentType ? ` · ${s.parentType}` : ""} · from ${formatTime(s.start)}`,
      });
      el.style.flexGrow = String(Math.max(0.05, Math.sqrt(Math.max(ms, 1))));
      return el;
    });
    this.el.lane.replaceChildren(...nodes);
    const last = segs[segs.length - 1];
    this.el.laneLabel.textContent = last
      ? `${last.state} ${formatDuration(last.end - last.start)}`
      : "no status yet";
  }

  dispose(): void {
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
    this.list.dispose();
    clearTimeout(this.bodyTimer);
    clearTimeout(this.chromeTimer);
    if (this.textFrame) cancelAnimationFrame(this.textFrame);
    clearInterval(this.laneTimer);
    if (this.chromeFrame) cancelAnimationFrame(this.chromeFrame);
    this.root.removeEventListener("keydown", this.onKey);
    window.removeEventListener("keydown", this.onKeyCapture, true);
    this.root.remove();
  }
}

export default {
  initialize({ model }: { model: Model }) {
    // The model's state; its views find it (and use this model object, whose listeners
    // live as long as the model, not as long as one view).
    const state = stateOf(model);
    return () => forgetState(state);
  },
  render({ model, el }: { model: Model; el: HTMLElement }) {
    const shared = stateOf(model);
    const view = new MonitorView(model, el);
    shared.views += 1;
    return () => {
      view.dispose();
      shared.views -= 1;
      // its cell was deleted or its output cleared: Python may close the monitor
      if (shared.views === 0) model.send({ kind: "views", count: 0 });
    };
  },
};
