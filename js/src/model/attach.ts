/**
 * The picker's requests: `refresh` (the kernels list) and `attach` (switch to a chosen kernel).
 * While an attach is pending, rows are held back: rows of the old kernel may still come before
 * the marker of the new attach (`switched`, or `attached` for a first attach). Rows from that
 * marker on are let through; if the attach fails (or is answered without a marker), the held
 * rows are given back.
 */
import { batch, signal } from "@preact/signals-core";
import type { Row } from "../types";
import type { RequestClient } from "./client";

/** Rows held back while an attach is pending, at most (the oldest are dropped). */
const HELD_MAX = 100_000;
/** After the attach is answered, how long the `switched` marker may take to come (ms). */
const MARKER_WAIT_MS = 1000;

export interface AttachHooks {
  /** The window starts over for the new kernel. */
  clear(): void;
  /** The attach failed: ask for the window again. */
  failed(): void;
  /** Rows held back that are given back. */
  release(rows: Row[]): void;
  /** Is the row a marker of the new attach (newer than anything taken so far)? */
  isNewAttach(row: Row): boolean;
}

export class KernelSwitch {
  /** An attach sent from the picker and not answered yet; rows are held until it switches. */
  pending: { id: number; kernelId: string } | null = null;
  /** The picker's state: a refresh or an attach started or ended. */
  readonly tick = signal(0);
  /** An attach failed: views reopen the picker. */
  readonly failed = signal(0);
  readonly refreshing = signal(false);
  private held: Row[] = [];
  private refreshId = 0;
  private timer = 0;

  constructor(
    private readonly client: RequestClient,
    private readonly hooks: AttachHooks,
  ) {}

  refresh(): void {
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
    this.pending = pending;
    this.held = [];
    this.hooks.clear();
    this.tick.value++;
    req.then(
      () => {
        // The `switched` marker comes with the rows (every ~50 ms): give it a moment.
        clearTimeout(this.timer);
        this.timer = window.setTimeout(() => {
          if (this.pending === pending) this.end(false);
        }, MARKER_WAIT_MS);
      },
      () => {
        if (this.pending === pending) this.end(true);
      },
    );
  }

  /** The rows to take now: all when no attach is pending, else those from its marker on. */
  take(rows: Row[]): Row[] {
    if (!this.pending) return rows;
    const k = rows.findIndex((r) => this.hooks.isNewAttach(r));
    if (k < 0) {
      this.held.push(...rows);
      if (this.held.length > HELD_MAX) this.held.splice(0, this.held.length - HELD_MAX);
      return [];
    }
    this.pending = null;
    this.held = [];
    this.tick.value++;
    return rows.slice(k);
  }

  /** The attach did not switch (error, or answered without a `switched` marker). */
  private end(failed: boolean): void {
    if (!this.pending) return;
    this.pending = null;
    const held = this.held;
    this.held = [];
    batch(() => {
      if (failed) {
        this.failed.value++;
        this.hooks.failed();
      }
      this.tick.value++;
    });
    if (held.length) this.hooks.release(held);
  }

  /** No view is left: stop waiting for the marker. */
  stop(): void {
    clearTimeout(this.timer);
  }
}
