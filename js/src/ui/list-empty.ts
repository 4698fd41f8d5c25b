/** The empty message list's note: why nothing is listed (attaching, no rows yet, all filtered). */
import { effect } from "@preact/signals-core";
import { h, setText } from "../dom";
import { emptyListText } from "../header";
import { shownCount } from "./counters";
import { asString, drawer, onModel, pickerShown, type View } from "./view";

/** The note follows row traffic at most this often (ms). */
const INTERVAL = 250;

export function mountEmptyNote(parent: HTMLElement, v: View): () => void {
  const s = v.s;
  const el = h("div", { class: "jpf-empty" });
  parent.append(el);
  const draw = () => {
    const text = pickerShown(v)
      ? ""
      : s.kernels.pending
        ? "attaching…"
        : emptyListText({
            status: asString(v.model.get("status")) || "connecting",
            held: s.window.store.size,
            shown: shownCount(s),
            historyAsked: s.historyAsked,
            target: s.target(),
          });
    setText(el, text);
    if (el.hidden !== !text) el.hidden = !text;
  };
  const d = drawer(draw, INTERVAL);
  const offs = [
    s.subscribe((c) => {
      if (c.kind !== "body") d.soon();
    }),
    onModel(v.model, ["change:status", "change:target"], d.now),
    effect(() => {
      s.rowsTick.value;
      s.kernels.tick.value;
      v.pickerOpen.value;
      d.soon();
    }),
  ];
  return () => {
    for (const off of offs) off();
    d.dispose();
    el.remove();
  };
}
