/**
 * The root of a view: the monitor's box and its components (header, counters, picker, toolbar
 * with its filter chips and export, type chips, status lane, list), and the mode keys.
 */
import { h } from "../dom";
import type { MonitorState } from "../model/state";
import type { Model, ViewMode } from "../types";
import { mountCounters } from "./counters";
import { mountExport } from "./export";
import { mountFilters } from "./filters";
import { mountHeader } from "./header";
import { mountLane } from "./lane";
import { mountList } from "./list";
import { mountPicker } from "./picker";
import { filtersSlot, mountToolbar } from "./toolbar";
import { mountTypeChips } from "./type-chips";
import { makeView } from "./view";

const MODE_KEYS: Record<string, ViewMode> = {
  r: "rendered",
  1: "rendered",
  w: "raw",
  2: "raw",
  t: "threaded",
  3: "threaded",
};

/** Draw a view of the model's state in `host`; returns how to take it away. */
export function mountMonitor(host: HTMLElement, s: MonitorState, model: Model): () => void {
  const root = h("div", {
    class: "jpf-monitor",
    tabindex: "0",
    "aria-label": "Jupyter kernel message monitor",
  });
  const v = makeView(s, model, root);
  const header = h("div", { class: "jpf-header" });
  root.append(header);
  const disposers = [
    mountHeader(header, v),
    mountCounters(header, v),
    mountPicker(root, v),
    mountToolbar(root, v),
  ];
  disposers.push(
    mountFilters(filtersSlot(root), v),
    mountExport(root.querySelector(".jpf-toolbar") as HTMLElement, v),
    mountTypeChips(root, v),
    mountLane(root, v),
    mountList(root, v),
  );
  host.append(root);

  /**
   * JupyterLab (Lumino) handles shortcuts in the capture phase on `document`. For plain keys
   * (no Ctrl/Meta/Alt) typed while the monitor has focus, mark the monitor with
   * `data-lm-suppress-shortcuts` just for this event, so command-mode keys (r, 1, x, ...) do
   * not act on the notebook; Ctrl+S and other chords keep working.
   */
  const onKeyCapture = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (!(ev.target instanceof Node) || !root.contains(ev.target)) return;
    if (ev.key === "Escape" || ev.key === "Tab") return;
    root.setAttribute("data-lm-suppress-shortcuts", "true");
    setTimeout(() => root.removeAttribute("data-lm-suppress-shortcuts"), 0);
  };
  const onKey = (ev: KeyboardEvent) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if ((ev.target as HTMLElement).closest("input, select, textarea, [contenteditable]")) return;
    const mode = MODE_KEYS[ev.key];
    if (!mode) return;
    ev.preventDefault();
    ev.stopPropagation();
    s.chooseMode(mode);
  };
  root.addEventListener("keydown", onKey);
  window.addEventListener("keydown", onKeyCapture, true);
  return () => {
    root.removeEventListener("keydown", onKey);
    window.removeEventListener("keydown", onKeyCapture, true);
    for (const d of disposers.reverse()) d();
    root.remove();
  };
}
