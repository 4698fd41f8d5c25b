/** The counters line: captured, shown, possible loss, evicted, bad signature, malformed. */
import { h, setText } from "../dom";
import type { MonitorState } from "../model/state";
import { formatBytes } from "../time";
import type { Counters } from "../types";
import { asObj, asString, drawOnTraffic, type Mount } from "./view";

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** How many rows the view lists (threaded: the rows in its threads). */
export function shownCount(s: MonitorState): number {
  if (s.mode !== "threaded") return s.listing.shown.length;
  let n = 0;
  for (const th of s.threads().visible()) n += th.rows.length;
  return n;
}

export const mountCounters: Mount = (parent, v) => {
  const m = v.model;
  const s = v.s;
  const box = h("div", { class: "jpf-counters" });
  parent.append(box);
  const els = new Map<string, { el: HTMLElement; value: HTMLElement }>();

  const draw = () => {
    const c = asObj(m.get("counters")) as Counters;
    const loss = asString(c.loss_detection);
    const items: [string, string, string, string][] = [
      [
        "captured",
        "captured",
        String(num(c.captured) || s.window.store.size),
        `${s.window.store.size} in this view${c.bytes ? ` · ${formatBytes(num(c.bytes))}` : ""}`,
      ],
      [
        "shown",
        "shown",
        String(shownCount(s)),
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
    if (m.get("capture") === "tap")
      items.push([
        "tap_dropped",
        "tap dropped",
        String(num(c.tap_dropped_frames)),
        "frames the tap relayed that its capture socket dropped before they reached the monitor",
      ]);
    if (els.size !== items.length) {
      els.clear();
      const nodes = items.map(([key, label]) => {
        const value = h("span", { class: "jpf-cvalue" });
        const el = h(
          "span",
          { class: "jpf-counter", "data-role": "counter", "data-counter": key },
          h("span", { class: "jpf-clabel" }, `${label} `),
          value,
        );
        els.set(key, { el, value });
        return el;
      });
      box.replaceChildren(...nodes);
    }
    // Update in place, writing only what changed (a live stream redraws these often).
    for (const [key, , value, title] of items) {
      const parts = els.get(key);
      if (!parts) continue;
      const bad =
        key !== "captured" && key !== "shown" && num((c as Record<string, unknown>)[key]) > 0;
      if (parts.el.classList.contains("jpf-bad") !== bad) parts.el.classList.toggle("jpf-bad", bad);
      if (parts.el.title !== title) parts.el.title = title;
      setText(parts.value, value);
    }
  };
  const d = drawOnTraffic(v, draw, ["change:capture"]);
  const offList = s.subscribe((c) => {
    if (c.kind !== "body") d.soon();
  });
  return () => {
    offList();
    d.dispose();
    box.remove();
  };
};
