/**
 * The state of one Monitor in this page, made once per model (anywidget's `initialize`) and
 * shared by every view of it. It follows the model's messages and traits while a view is shown,
 * decodes each batch once, and puts together the parts that each do one job: the window
 * (`window.ts`), the counts (`counts.ts`), the filters (`filter-state.ts`), the listed rows and
 * paging (`listing.ts`, `paging.ts`), threads (`threading.ts`), bodies (`bodies.ts`), the
 * picker's requests and attach hold-back (`attach.ts`), and the one request client
 * (`client.ts`). Views read it, subscribe to list changes and redraw on its signals.
 */
import { signal } from "@preact/signals-core";
import { decodeMessage } from "../protocol";
import { MAX_ROWS } from "../store";
import type { ThreadIndex } from "../threads";
import type { Model, Row, ViewMode } from "../types";
import { VIEW_MODES } from "../types";
import { KernelSwitch } from "./attach";
import { Bodies } from "./bodies";
import { RequestClient } from "./client";
import { Counts } from "./counts";
import { FilterState } from "./filter-state";
import { type ListChange, Listing } from "./listing";
import { Paging } from "./paging";
import { Threading } from "./threading";
import { RowWindow } from "./window";

export type { ListChange } from "./listing";

/** Rows show their content inline (`comfortable`) or are one line each (`compact`). */
export type Density = "comfortable" | "compact";

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

/** The traits the filters are read from. */
const FILTER_TRAITS = [
  "filter_types",
  "filter_channels",
  "filter_directions",
  "filter_clients",
  "filter_text",
  "show_status",
  "only_problems",
  "cleared_seq",
];

export class MonitorState {
  readonly client: RequestClient;
  readonly window: RowWindow;
  readonly counts = new Counts();
  readonly filter: FilterState;
  readonly listing: Listing;
  readonly threading = new Threading();
  /** Message bodies: cached, asked for, or failed. */
  readonly bodies: Bodies;
  /** The picker's refresh and attach, and the rows held back while attaching. */
  readonly kernels: KernelSwitch;
  mode: ViewMode = "rendered";
  density: Density = "comfortable";
  historyAsked = false;
  /** When rows last arrived (performance.now()). */
  lastRowsAt = 0;

  // Signals the views redraw on.
  /** Row traffic: counters, chips and the lane. */
  readonly rowsTick = signal(0);
  /** Mode, pause or filters changed. */
  readonly settingsTick = signal(0);

  /** Views of this model on this page; Python hears when the last one goes. */
  views = 0;

  private readonly paging: Paging;
  private readonly listeners = new Set<(c: ListChange) => void>();
  private readonly unlisten: (() => void)[] = [];
  private readonly decoded = decodeStats();

  constructor(readonly model: Model) {
    this.client = new RequestClient((content) => model.send(content));
    this.paging = new Paging(this.client);
    this.window = new RowWindow(this.windowRows());
    this.filter = new FilterState(
      model,
      (name, value) => this.save(name, value),
      this.client,
      (seqs) => this.listing.found(seqs),
    );
    this.bodies = new Bodies(
      this.client,
      (seq) => this.rowBySeq(seq)?.size ?? 1024,
      (seq) => this.emit({ kind: "body", seq }),
    );
    this.listing = new Listing({
      store: () => this.window.store,
      filters: this.filter,
      threading: this.threading,
      paging: this.paging,
      threaded: () => this.mode === "threaded",
      emit: (c) => this.emit(c),
      listed: () => this.rowsTick.value++,
    });
    this.kernels = new KernelSwitch(this.client, {
      clear: () => this.clearWindow(),
      failed: () => this.askHistory(),
      release: (rows) => this.addRows(rows),
      isNewAttach: (r) => this.window.isNewAttach(r),
    });
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
        this.kernels.stop();
        this.filter.saveText();
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
    const paused = this.model.get("paused") === true;
    this.listing.paused = paused;
    this.listing.pausedAt = paused ? this.window.store.lastSeq : -1;
    this.filter.read();
    this.listing.refilter();
    this.on("msg:custom", (content?: unknown, buffers?: unknown) =>
      this.onMessage(content, buffers),
    );
    this.on("change:view", () => this.setMode(this.readMode()));
    this.on("change:density", () => this.setDensity(this.readDensity()));
    this.on("change:window_rows", () => this.resizeWindow());
    for (const name of FILTER_TRAITS) this.on(`change:${name}`, () => this.readFilters());
    this.on("change:paused", () => {
      if (this.listing.setPaused(this.model.get("paused") === true)) this.settingsTick.value++;
    });
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
    if (msg.kind === "problems") this.setProblems(msg.counts);
    this.client.answer(msg);
  }

  // ---------------------------------------------------------------- traits

  private readMode(): ViewMode {
    const v = asString(this.model.get("view"));
    return (VIEW_MODES as readonly string[]).includes(v) ? (v as ViewMode) : "rendered";
  }

  private readDensity(): Density {
    return this.model.get("density") === "compact" ? "compact" : "comfortable";
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

  /** The filter traits (or the view-only settings) changed: list the rows again. */
  private readFilters(): void {
    const change = this.filter.read();
    // Typing more text only narrows the list: filter the rows shown, not the whole window.
    if (change === "narrowed" && this.mode !== "threaded") this.listing.narrow();
    else if (change !== "same") this.listing.refilter();
    this.settingsTick.value++;
  }

  /** Text typed in a view's filter box: applied now, saved to the trait after a pause. */
  typeText(text: string): void {
    this.filter.type(text);
    this.readFilters();
  }

  setShowOwn(show: boolean): void {
    this.filter.showOwn = show;
    this.readFilters();
  }

  setMode(mode: ViewMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode === "threaded") this.rebuildThreads();
    else this.threading.drop();
    this.emit({ kind: "mode" });
    this.settingsTick.value++;
  }

  chooseMode(mode: ViewMode): void {
    this.setMode(mode);
    if (asString(this.model.get("view")) !== mode) this.save("view", mode);
  }

  /** `window_rows` changed: keep the newest rows that fit, and ask Python to fill the rest. */
  private resizeWindow(): void {
    if (!this.window.resize(this.windowRows())) return;
    this.listing.refilter();
    this.askHistory();
  }

  // ---------------------------------------------------------------- requests

  askHistory(): void {
    this.historyAsked = true;
    this.client.request("history");
  }

  /** A view's list is near its top: ask for older rows. Not in threaded mode (threads are built from the window). */
  askOlder(): void {
    if (this.mode === "threaded" || this.kernels.pending) return;
    this.listing.askOlder(this.window.floorSeq);
  }

  // ---------------------------------------------------------------- rows

  /** Forget every row of the window (a switch to another kernel). */
  private clearWindow(): void {
    this.window.clear(this.windowRows());
    this.counts.clear();
    this.listing.clear();
    this.bodies.forgetAsked();
    if (this.mode === "threaded") this.rebuildThreads();
    this.emit({ kind: "cleared" });
    this.rowsTick.value++;
  }

  addRows(incoming: Row[], history = false): void {
    // Rows of the old kernel may still come before a picker's attach switches: held back.
    const rows = this.kernels.take(incoming);
    if (!rows.length) return;
    // The newest `switched` marker starts the window over: older rows were another kernel's.
    if (this.window.raiseFloor(rows)) this.clearWindow();
    const got = this.window.add(rows);
    if (!got) return;
    this.lastRowsAt = performance.now();
    this.counts.add(got.res.added, got.res.merged);
    this.rowsTick.value++;
    this.listing.added(got.res, got.lastBefore, history);
  }

  /** Problem counts for rows already held (the linter reached them after they were sent). */
  setProblems(counts: ReadonlyMap<number, number>): void {
    const changed: number[] = [];
    for (const [seq, n] of counts) {
      const row = this.window.rowBySeq(seq);
      if (!row || (row.problems ?? 0) === n) continue;
      row.problems = n;
      changed.push(seq);
    }
    if (!changed.length) return;
    // a listed row may now fail the problems filter, or an unlisted one pass it
    if (this.filter.filters.onlyProblems) this.listing.refilter();
    else this.emit({ kind: "problems", seqs: changed });
  }

  rowBySeq(seq: number): Row | undefined {
    return this.window.rowBySeq(seq);
  }

  private rebuildThreads(): ThreadIndex {
    return this.threading.rebuild(this.filter.predicate, this.listing.listable());
  }

  /** The thread index (threaded mode), built on first use. */
  threads(): ThreadIndex {
    return this.threading.ix ?? this.rebuildThreads();
  }
}
