/**
 * The states of the Monitors in this page, one per model: `stateOf` finds a model's state from
 * any of anywidget's proxies of it (or makes it), `forgetState` drops it when the model closes.
 */
import type { Model } from "../types";
import { MonitorState } from "./state";

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
