/** The status lane: the kernel's busy/idle segments over time, and the current state. */
import { effect } from "@preact/signals-core";
import { h } from "../dom";
import { laneSegments } from "../lane";
import { formatDuration, formatTime } from "../time";
import { drawer, type Mount } from "./view";

const INTERVAL = 250;

export const mountLane: Mount = (parent, v) => {
  const s = v.s;
  const lane = h("div", {
    class: "jpf-lane",
    "data-role": "status-lane",
    title: "kernel busy/idle",
  });
  const label = h("span", { class: "jpf-lane-label" });
  const wrap = h("div", { class: "jpf-lanewrap" }, lane, label);
  parent.append(wrap);
  const draw = () => {
    const segs = laneSegments(s.counts.statusRows, Date.now());
    const nodes = segs.map((seg) => {
      const ms = seg.end - seg.start;
      const el = h("span", {
        class: "jpf-seg",
        "data-role": "lane-segment",
        "data-state": seg.state,
        title: `${seg.state} ${formatDuration(ms)}${seg.open ? " (now)" : ""}${seg.parentType ? ` · ${seg.parentType}` : ""} · from ${formatTime(seg.start)}`,
      });
      el.style.flexGrow = String(Math.max(0.05, Math.sqrt(Math.max(ms, 1))));
      return el;
    });
    lane.replaceChildren(...nodes);
    const last = segs[segs.length - 1];
    label.textContent = last
      ? `${last.state} ${formatDuration(last.end - last.start)}`
      : "no status yet";
  };
  const d = drawer(draw, INTERVAL);
  d.now();
  const offRows = effect(() => {
    s.rowsTick.value;
    d.soon();
  });
  // The open segment grows with time.
  const timer = window.setInterval(d.soon, 1000);
  return () => {
    offRows();
    clearInterval(timer);
    d.dispose();
    wrap.remove();
  };
};
