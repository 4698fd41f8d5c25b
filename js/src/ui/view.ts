/**
 * What the components of one view share: the model's state, this view's model object (traits),
 * and what belongs to this view alone (opened rows, their raw/rendered switch and mime choice,
 * collapsed threads, the picker's open state).
 */
import { effect, type Signal, signal } from "@preact/signals-core";
import type { MonitorState } from "../model/state";
import { throttleDelay } from "../throttle";
import type { Model } from "../types";

export interface View {
  readonly s: MonitorState;
  readonly model: Model;
  readonly root: HTMLElement;
  readonly expanded: Set<number>;
  readonly rowMode: Map<number, "raw" | "rendered">;
  readonly mimeChoice: Map<number, string>;
  readonly collapsed: Set<string>;
  /** The picker was opened with "switch kernel" (it is also shown while there is no target). */
  readonly pickerOpen: Signal<boolean>;
}

export function makeView(s: MonitorState, model: Model, root: HTMLElement): View {
  return {
    s,
    model,
    root,
    expanded: new Set(),
    rowMode: new Map(),
    mimeChoice: new Map(),
    collapsed: new Set(),
    pickerOpen: signal(false),
  };
}

/** A component: draws into `parent` from the view's state, returns how to take it away. */
export type Mount = (parent: HTMLElement, view: View) => () => void;

export function asString(v: unknown): string {
  return typeof v === "string" ? v : "";
}

export function asObj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Is the picker shown: opened, or no target and no attach pending. */
export function pickerShown(v: View): boolean {
  return v.pickerOpen.value || (!v.s.target() && !v.s.kernels.pending);
}

/** Call `cb` on each of the model's events named; returns how to stop. */
export function onModel(model: Model, events: readonly string[], cb: () => void): () => void {
  for (const e of events) model.on(e, cb);
  return () => {
    for (const e of events) model.off(e, cb);
  };
}

/**
 * Draw at the next animation frame (`now`), or for traffic at most every `interval` ms
 * (`soon`), so a live stream does not restyle and relayout on every batch.
 */
export function drawer(draw: () => void, interval = 0) {
  let frame = 0;
  let timer = 0;
  let last = Number.NEGATIVE_INFINITY;
  const now = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      last = performance.now();
      draw();
    });
  };
  const soon = () => {
    if (frame || timer) return;
    const wait = throttleDelay(last, performance.now(), interval);
    if (wait <= 0) now();
    else
      timer = window.setTimeout(() => {
        timer = 0;
        now();
      }, wait);
  };
  const dispose = () => {
    if (frame) cancelAnimationFrame(frame);
    clearTimeout(timer);
    frame = 0;
    timer = 0;
  };
  return { now, soon, dispose };
}

/** How often the drawers of the chips and counters follow row traffic (ms). */
export const TRAFFIC_MS = 250;

/**
 * Draw a part of the toolbar or counters now, then again on what it shows: row traffic and the
 * `counters` trait (at most every TRAFFIC_MS), settings (mode, pause, filters) and the traits
 * named in `now` (at the next frame). Returns the drawer (for more triggers) and how to stop.
 */
export function drawOnTraffic(
  v: View,
  draw: () => void,
  now: readonly string[] = [],
): { soon: () => void; dispose: () => void } {
  const d = drawer(draw, TRAFFIC_MS);
  d.now();
  const offs = [
    onModel(v.model, now, d.now),
    onModel(v.model, ["change:counters"], d.soon),
    effect(() => {
      v.s.rowsTick.value;
      d.soon();
    }),
    effect(() => {
      v.s.settingsTick.value;
      d.now();
    }),
  ];
  return {
    soon: d.soon,
    dispose: () => {
      for (const off of offs) off();
      d.dispose();
    },
  };
}
