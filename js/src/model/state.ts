/**
 * The state of one Monitor in this page, made once per model (anywidget's `initialize`) and
 * shared by every view of it: the decoded rows (the window), the rows the list shows and paging
 * to older ones, threads, bodies, per-type counts, the kernel attach in progress, and the one
 * request client. Views (`render`) read it, subscribe to list changes and redraw on its signals.
 */
import { batch, signal } from "@preact/signals-core";
import { TO_KERNEL } from "../clients";
import { type Filters, makePredicate, NO_FILTERS, narrows, sameFilters } from "../filter";
import { decodeMessage } from "../protocol";
import { lowerBound, MAX_ROWS, RowStore } from "../store";
import { ThreadIndex } from "../threads";
import type { Model, Row, ViewMode } from "../types";
import { VIEW_MODES } from "../types";
import { Bodies } from "./bodies";
import { RequestClient } from "./client";
import { Paging } from "./paging";

const STATUS_KEEP = 2000;
/** Rows the list keeps, at most, as a multiple of the window (older ones are asked for again). */
const SHOWN_WINDOWS = 2;
/** Rows held back while an attach is pending, at most (the oldest are dropped). */
const HELD_MAX = 100_000;
/** The filter text is saved to the trait after this pause in typing (ms). */
const TEXT_SAVE_MS = 300;

/** What changed in the listed rows, for the views' virtual lists. */
export type Density = "comfortable" | "compact";

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
  | { kind: "body"; seq: number };

/** Decoding done in this page, for tests: each batch from Python is decoded once per model. */
export interface DecodeStats {
  batches: number;
  rows: number;
  /** Rows decoded from live `rows` batches. */
  liveRows: number;
}

function decodeStats(): DecodeStats {
  const w = globalThis as unknown as { __jpfDecoded?: DecodeStats };
  if (!w.__jpfDecoded) w.__jpfDecoded = { batches: 0, rows: 0, liveRows: 0 };
  return w.__jpfDecoded;
}

function asString(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function asList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** A `switched` marker: the monitor moved to another kernel, the window starts over. */
function isSwitch(row: Row): boolean {
  return row.channel === "monitor" && row.msg_type === "switched";
}

export class MonitorState {
  readonly client: RequestClient;
  store: RowStore;
  /** Message bodies: cached, asked for, or failed. */
  readonly bodies: Bodies;
  statusRows: Row[] = [];
  typeCounts = new Map<string, number>();
  channelCounts = new Map<string, number>();
  /** Messages per client id (the client chips list the clients seen). */
  clientCounts = new Map<string, number>();
  /** A row sent to the kernel was seen (the direction chips are shown). */
  seenToKernel = false;
  /**
   * Rows the list shows (list modes), ascending seq: every row that passes the filters from
   * the paging's start on. Those below the window's first row came from `older` requests, or
   * stayed when the window moved on; they are bounded by SHOWN_WINDOWS.
   */
  shown: Row[] = [];
  /** Threaded mode's incremental index (null outside threaded mode). */
  threadIx: ThreadIndex | null = null;
  predicate: (row: Row) => boolean = () => true;
  filters: Filters = NO_FILTERS;
  mode: ViewMode = "rendered";
  /** Rows show their content inline (`comfortable`) or are one line each (`compact`). */
  density: Density = "compact";
  paused = false;
  /** The newest seq when the list was paused. */
  pausedAt = -1;
  pendingWhilePaused = 0;
  historyAsked = false;
  /** When rows last arrived (performance.now()). */
  lastRowsAt = 0;
  /** View-only: also list the monitor's own probe replies (shared by the model's views). */
  showOwn = false;
  /** The filter text typed and applied, not saved to the trait yet (null: none pending). */
  typedText: string | null = null;
  /** An attach sent from the picker and not answered yet; rows are held until it switches. */
  attachPending: { id: number; kernelId: string } | null = null;

  // Signals the views redraw on.
  /** Row traffic: counters, chips and the lane. */
  readonly rowsTick = signal(0);
  /** Mode, pause or filters changed. */
  readonly settingsTick = signal(0);
  /** The picker's state: a refresh or an attach started or ended. */
  readonly pickerTick = signal(0);
  /** An attach failed: views reopen the picker. */
  readonly attachFailed = signal(0);
  readonly refreshing = signal(false);

  /** Views of this model on this page; Python hears when the last one goes. */
  views = 0;

  /** Older rows than the window, asked for a page at a time. */
  private readonly paging: Paging;
  /** Rows with a lower seq belong to a kernel the monitor switched away from. */
  private floorSeq = -1;
  private held: Row[] = [];
  private refreshId = 0;
  private attachTimer = 0;
  private textTimer = 0;
  private readonly listeners = new Set<(c: ListChange) => void>();
  private readonly unlisten: (() => void)[] = [];
  private readonly decoded = decodeStats();

  constructor(readonly model: Model) {
    this.client = new RequestClient((content) => model.send(content));
    this.paging = new Paging(this.client);
    this.bodies = new Bodies(
      this.client,
      (seq) => this.rowBySeq(seq)?.size ?? 1024,
      (seq) => this.emit({ kind: "body", seq }),
    );
    this.store = new RowStore(this.windowRows());
  }

  // ---------------------------------------------------------------- views, model wiring

  /** A view subscribes to list changes; the model's events are followed while a view is shown. */
  subscribe(cb: (c: ListChange) => void): () => void {
    this.listeners.add(cb);
    if (this.listeners.size === 1) this.listen();
    return () => {
      this.listeners.delete(cb);
      if (!this.listeners.size) {
        for (const off of this.unlisten) off();
        this.unlisten.length = 0;
        clearTimeout(this.attachTimer);
        clearTimeout(this.textTimer);
        this.saveText();
      }
    };
  }

  private emit(c: ListChange): void {
    for (const cb of this.listeners) cb(c);
  }

  private on(event: string, cb: (a?: unknown, b?: unknown) => void): void {
    this.model.on(event, cb);
    this.unlisten.push(() => this.model.off(event, cb));
  }

  private listen(): void {
    this.mode = this.readMode();
    this.density = this.readDensity();
    this.paused = this.model.get("paused") === true;
    this.pausedAt = this.paused ? this.store.lastSeq : -1;
    this.readFilters(false);
    this.refilter();
    this.on("msg:custom", (content?: unknown, buffers?: unknown) =>
      this.onMessage(content, buffers),
    );
    this.on("change:view", () => this.setMode(this.readMode()));
    this.on("change:density", () => this.setDensity(this.readDensity()));
    this.on("change:window_rows", () => this.resizeWindow());
    for (const name of [
      "filter_types",
      "filter_channels",
      "filter_directions",
      "filter_clients",
      "filter_text",
      "show_status",
      "cleared_seq",
    ]) {
      this.on(`change:${name}`, () => this.readFilters());
    }
    this.on("change:paused", () => this.setPaused(this.model.get("paused") === true));
  }

  save(name: string, value: unknown): void {
    this.model.set(name, value);
    this.model.save_changes();
  }

  target(): string {
    return asString(this.model.get("target"));
  }

  private onMessage(content: unknown, buffers: unknown): void {
    const msg = decodeMessage(content, buffers);
    if ("rows" in msg) {
      this.decoded.batches += 1;
      this.decoded.rows += msg.rows.length;
      if (msg.kind === "rows") this.decoded.liveRows += msg.rows.length;
    }
    // Rows are rows, whoever asked for them (the store dedupes): history is always taken.
    if (msg.kind === "rows" || msg.kind === "history")
      this.addRows(msg.rows, msg.kind === "history");
    this.client.answer(msg);
  }

  // ---------------------------------------------------------------- traits

  private readMode(): ViewMode {
    const v = asString(this.model.get("view"));
    return (VIEW_MODES as readonly string[]).includes(v) ? (v as ViewMode) : "rendered";
  }

  private readDensity(): Density {
    return this.model.get("density") === "comfortable" ? "comfortable" : "compact";
  }

  private setDensity(density: Density): void {
    if (density === this.density) return;
    this.density = density;
    this.emit({ kind: "mode" });
    this.settingsTick.value++;
  }

  chooseDensity(density: Density): void {
    this.setDensity(density);
    if (this.model.get("density") !== density) this.save("density", density);
  }

  /** How many rows the window holds (the `window_rows` trait). */
  windowRows(): number {
    const n = Number(this.model.get("window_rows"));
    return Number.isFinite(n) && n >= 1 ? Math.floor(n) : MAX_ROWS;
  }

  readFilters(apply = true): void {
    const m = this.model;
    const cleared = Number(m.get("cleared_seq"));
    const prev = this.filters;
    this.filters = {
      types: asList(m.get("filter_types")),
      channels: asList(m.get("filter_channels")),
      directions: asList(m.get("filter_directions")),
      clients: asList(m.get("filter_clients")),
      // What the user typed wins until it is saved.
      text: this.typedText ?? asString(m.get("filter_text")),
      showStatus: m.get("show_status") === true,
      clearedSeq: Number.isFinite(cleared) ? cleared : -1,
      showOwn: this.showOwn,
    };
    if (apply && sameFilters(prev, this.filters)) {
      this.settingsTick.value++;
      return;
    }
    this.predicate = makePredicate(this.filters);
    if (apply) {
      // Typing more text only narrows the list: filter the rows shown, not the whole window.
      if (this.mode !== "threaded" && narrows(prev, this.filters)) this.narrow();
      else this.refilter();
    }
    this.settingsTick.value++;
  }

  /** Text typed in a view's filter box: applied now, saved to the trait after a pause. */
  typeText(text: string): void {
    this.typedText = text;
    this.readFilters();
    clearTimeout(this.textTimer);
    this.textTimer = window.setTimeout(() => this.saveText(), TEXT_SAVE_MS);
  }

  private saveText(): void {
    this.textTimer = 0;
    const text = this.typedText;
    if (text === null) return;
    this.save("filter_text", text);
    this.typedText = null;
  }

  setShowOwn(show: boolean): void {
    this.showOwn = show;
    this.readFilters();
  }

  setMode(mode: ViewMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode === "threaded") this.rebuildThreads();
    else this.threadIx = null;
    this.emit({ kind: "mode" });
    this.settingsTick.value++;
  }

  chooseMode(mode: ViewMode): void {
    this.setMode(mode);
    if (asString(this.model.get("view")) !== mode) this.save("view", mode);
  }

  private setPaused(p: boolean): void {
    if (p === this.paused) return;
    this.paused = p;
    this.pausedAt = this.store.lastSeq;
    if (!p) {
      this.pendingWhilePaused = 0;
      this.refilter();
    }
    this.settingsTick.value++;
  }

  /** `window_rows` changed: keep the newest rows that fit, and ask Python to fill the rest. */
  private resizeWindow(): void {
    const n = this.windowRows();
    if (n === this.store.maxRows) return;
    const kept = this.store.rows.slice(-n);
    this.store = new RowStore(n);
    this.store.add(kept);
    this.refilter();
    this.askHistory();
  }

  // ---------------------------------------------------------------- requests

  askHistory(): void {
    this.historyAsked = true;
    this.client.request("history");
  }

  refreshKernels(): void {
    const req = this.client.request("refresh");
    this.refreshId = req.id;
    this.refreshing.value = true;
    const done = () => {
      // Only the newest refresh says whether one is still running.
      if (this.refreshId !== req.id) return;
      this.refreshId = 0;
      this.refreshing.value = false;
    };
    req.then(done, done);
  }

  /** Attach to a kernel chosen in a picker: start the window over. */
  attach(kernelId: string): void {
    const req = this.client.request("attach", { target: kernelId });
    const pending = { id: req.id, kernelId };
    this.attachPending = pending;
    this.held = [];
    this.clearWindow();
    this.pickerTick.value++;
    req.then(
      () => {
        // The `switched` marker comes with the rows (every ~50 ms): give it a moment.
        clearTimeout(this.attachTimer);
        this.attachTimer = window.setTimeout(() => {
          if (this.attachPending === pending) this.endAttach(false);
        }, 1000);
      },
      () => {
        if (this.attachPending === pending) this.endAttach(true);
      },
    );
  }

  /** The attach did not switch (error, or answered without a `switched` marker). */
  private endAttach(failed: boolean): void {
    if (!this.attachPending) return;
    this.attachPending = null;
    const held = this.held;
    this.held = [];
    batch(() => {
      if (failed) {
        // The window was cleared for the switch: ask for the rows again (the newest
        // `switched` marker still decides where it starts).
        this.attachFailed.value++;
        this.askHistory();
      }
      this.pickerTick.value++;
    });
    if (held.length) this.addRows(held);
  }

  /** Forget every row of the window (a switch to another kernel). */
  private clearWindow(): void {
    this.store = new RowStore(this.windowRows());
    this.statusRows = [];
    this.typeCounts = new Map();
    this.channelCounts = new Map();
    this.clientCounts = new Map();
    this.seenToKernel = false;
    this.shown = [];
    this.resetOlder();
    this.bodies.forgetAsked();
    this.pendingWhilePaused = 0;
    if (this.mode === "threaded") this.rebuildThreads();
    this.emit({ kind: "cleared" });
    this.rowsTick.value++;
  }

  // ---------------------------------------------------------------- older rows (paging)

  /** Forget the older rows asked for: the list is now what the window has, from its start. */
  private resetOlder(): void {
    const listable = this.listable();
    this.paging.restart(
      listable.length
        ? listable[0].seq
        : this.paused && this.pausedAt >= 0
          ? this.pausedAt + 1
          : this.store.firstSeq,
    );
  }

  /**
   * A view's list is near its top: ask Python for the rows before the first one shown that pass
   * the filters (a page at a time). Not in threaded mode: threads are built from the window.
   */
  askOlder(): void {
    if (this.mode === "threaded" || this.attachPending) return;
    const f = this.filters;
    this.paging.ask(Math.max(this.floorSeq - 1, f.clearedSeq), f, (rows, done) => {
      const older = rows.filter((r) => r.seq >= this.floorSeq && this.predicate(r));
      if (older.length) {
        this.shown = older.concat(this.shown);
        this.rowsTick.value++;
      }
      if (older.length || !done) this.emit({ kind: "older", added: older.length });
    });
  }

  // ---------------------------------------------------------------- rows

  addRows(incoming: Row[], history = false): void {
    if (!incoming.length) return;
    let rows = incoming;
    if (this.attachPending) {
      // Rows of the old kernel may still come before the switch: hold them back.
      // ... until the marker of the new attach (`switched`, or `attached` for a first attach).
      const k = rows.findIndex(
        (r) =>
          r.channel === "monitor" &&
          (r.msg_type === "switched" || r.msg_type === "attached") &&
          r.seq > this.floorSeq &&
          r.seq > this.store.lastSeq,
      );
      if (k < 0) {
        this.held.push(...rows);
        if (this.held.length > HELD_MAX) this.held.splice(0, this.held.length - HELD_MAX);
        return;
      }
      this.attachPending = null;
      this.held = [];
      this.pickerTick.value++;
      rows = rows.slice(k);
    }
    // The newest `switched` marker starts the window over: older rows were another kernel's.
    let floor = this.floorSeq;
    for (const r of rows) if (isSwitch(r) && r.seq > floor) floor = r.seq;
    if (floor > this.floorSeq) {
      this.floorSeq = floor;
      if (this.store.size) this.clearWindow();
    }
    if (this.floorSeq >= 0) rows = rows.filter((r) => r.seq >= this.floorSeq);
    if (!rows.length) return;
    const lastBefore = this.store.lastSeq;
    const res = this.store.add(rows);
    if (!res.added.length && !res.dropped) return;
    this.lastRowsAt = performance.now();
    for (const r of res.added) {
      this.typeCounts.set(r.msg_type, (this.typeCounts.get(r.msg_type) ?? 0) + 1);
      this.channelCounts.set(r.channel, (this.channelCounts.get(r.channel) ?? 0) + 1);
      if (r.client) this.clientCounts.set(r.client, (this.clientCounts.get(r.client) ?? 0) + 1);
      if (r.direction === TO_KERNEL) this.seenToKernel = true;
      if (r.msg_type === "status") this.statusRows.push(r);
    }
    if (res.merged) this.statusRows.sort((a, b) => a.seq - b.seq);
    if (this.statusRows.length > STATUS_KEEP * 1.5)
      this.statusRows = this.statusRows.slice(-STATUS_KEEP);
    this.rowsTick.value++;
    if (this.paused) {
      if (history) {
        // A view that starts paused still shows the history it asked for.
        this.pausedAt = Math.max(this.pausedAt, this.store.lastSeq);
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
      this.paging.restart(res.added[0].seq);
    }
    let listed = 0;
    for (const r of res.added) {
      if (!this.predicate(r)) continue;
      this.shown.push(r);
      listed += 1;
    }
    // Rows the window dropped stay listed, up to a bound; those cut can be asked for again.
    const most = SHOWN_WINDOWS * this.store.maxRows;
    if (this.shown.length > most) {
      const cut = this.shown.length - most;
      removed += cut;
      this.shown.splice(0, cut);
      this.paging.restart(this.shown[0].seq);
    }
    if (this.threadIx) {
      this.threadIx.addAll(res.added);
      if (res.dropped) this.threadIx.dropBefore(this.store.firstSeq);
    }
    this.emit({ kind: "live", removed: this.threadIx ? 0 : removed, added: listed });
  }

  rowBySeq(seq: number): Row | undefined {
    const rows = this.store.rows;
    const i = lowerBound(rows, seq);
    return rows[i]?.seq === seq ? rows[i] : undefined;
  }

  /** Rows the list may show: all, or while paused only those received before pausing. */
  listable(): readonly Row[] {
    if (!this.paused) return this.store.rows;
    return this.store.rows.slice(0, lowerBound(this.store.rows, this.pausedAt + 1));
  }

  /** The filters only got stricter on the text: keep the shown rows that still pass. */
  private narrow(): void {
    this.shown = this.shown.filter(this.predicate);
    this.emit({ kind: "narrowed" });
  }

  refilter(): void {
    this.shown = this.listable().filter(this.predicate);
    this.resetOlder();
    if (this.mode === "threaded") this.rebuildThreads();
    this.emit({ kind: "reset" });
  }

  private rebuildThreads(): void {
    this.threadIx = new ThreadIndex(this.predicate);
    this.threadIx.addAll(this.listable());
  }

  /** The thread index (threaded mode), built on first use. */
  threads(): ThreadIndex {
    if (!this.threadIx) this.rebuildThreads();
    return this.threadIx as ThreadIndex;
  }
}

/** The states of the Monitors in this page (a model's goes when the model is closed). */
const states = new Set<MonitorState>();

/** Object-valued traits: the same deserialized objects are read through every view of a model. */
const IDENTITY_TRAITS = ["connection", "counters", "filter_types", "filter_channels", "kernels"];

/**
 * Are two model objects views of one model? anywidget hands `initialize` and each `render` a
 * different proxy of the model, so the proxies cannot be compared. But every proxy reads the
 * model's own attributes: the same (dict and list) objects, which no other model holds.
 */
export function sameModel(a: Model, b: Model): boolean {
  if (a === b) return true;
  let objects = 0;
  for (const name of IDENTITY_TRAITS) {
    const v = a.get(name);
    if (v !== b.get(name)) return false;
    if (v && typeof v === "object") objects += 1;
  }
  return objects > 0;
}

/** The model's state, made on first use (anywidget's `initialize`, or else the first `render`). */
export function stateOf(model: Model): MonitorState {
  for (const s of states) if (sameModel(s.model, model)) return s;
  const s = new MonitorState(model);
  states.add(s);
  return s;
}

/** The model was closed: forget its state. */
export function forgetState(state: MonitorState): void {
  states.delete(state);
}
