/** The msg_type chips with their counts ("show only" toggles; none pressed = all). */
import { h, setText } from "../dom";
import type { Counters } from "../types";
import { toggleIn } from "./filters";
import { asObj, drawOnTraffic, type Mount } from "./view";

export const mountTypeChips: Mount = (parent, v) => {
  const s = v.s;
  const m = v.model;
  const box = h("div", { class: "jpf-chips jpf-type-chips" });
  parent.append(box);
  let countsKey = "";
  let shape = "";

  /** Write the chips' counts in place; false when the chips are not the expected ones. */
  const updateCounts = (types: [string, number][]): boolean => {
    const els = box.querySelectorAll<HTMLElement>("[data-role=filter-type]");
    if (els.length !== types.length) return false;
    for (let i = 0; i < types.length; i++) {
      const count = els[i].querySelector<HTMLElement>(".jpf-count");
      if (!count || els[i].dataset.msgType !== types[i][0]) return false;
      setText(count, String(types[i][1]));
    }
    return true;
  };

  const draw = () => {
    const c = asObj(m.get("counters")) as Counters;
    const byType =
      c.by_type && Object.keys(c.by_type).length
        ? new Map(Object.entries(c.by_type))
        : new Map(s.counts.types);
    const f = s.filter.filters;
    for (const t of f.types) if (!byType.has(t)) byType.set(t, 0);
    const types = [...byType.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const key = JSON.stringify([types, f.types]);
    if (key === countsKey) return;
    countsKey = key;
    // Same chips in the same order, only counts changed: update the numbers in place.
    const next = JSON.stringify([types.map((t) => t[0]), f.types]);
    if (next === shape && updateCounts(types)) return;
    shape = next;
    box.replaceChildren(
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
          s.save("filter_types", toggleIn(s.filter.filters.types, t)),
        );
        return b;
      }),
    );
  };
  const d = drawOnTraffic(v, draw);
  return () => {
    d.dispose();
    box.remove();
  };
};
