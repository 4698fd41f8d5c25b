/**
 * A row's content inline (comfortable density): in raw mode its JSON, otherwise the rendered
 * body (stream text with ANSI colours, the code of an execute_input, a display with its mime
 * chooser, the traceback, comm data). Capped in height; "more" opens the row. Before the body
 * arrives, what the Row itself holds (an execute_input's code), or nothing.
 */
import { h } from "../dom";
import { isMarker } from "../filter";
import { renderBody, renderRaw } from "../render";
import type { Row } from "../types";
import type { ItemHooks } from "./detail";
import type { View } from "./view";

/** Does this row show content inline in the view's current density (and is it not opened)? */
export function showsPreview(v: View, row: Row): boolean {
  return (
    v.s.density === "comfortable" &&
    !isMarker(row) &&
    row.msg_type !== "status" &&
    !v.expanded.has(row.seq)
  );
}

/** What a row's preview depends on (part of the list's stamp). */
export function previewStamp(v: View, row: Row): string {
  return `p|${v.s.mode === "raw" ? "raw" : "rendered"}|${v.s.bodies.has(row.seq)}`;
}

export function buildPreview(
  v: View,
  row: Row,
  hooks: ItemHooks,
  open: () => void,
): HTMLElement | null {
  const body = v.s.bodies.get(row.seq);
  let content: HTMLElement | null = null;
  if (body) {
    try {
      content =
        v.s.mode === "raw"
          ? renderRaw(body)
          : renderBody(row, body, { mimeChoice: v.mimeChoice, onResize: hooks.measure });
    } catch (err) {
      content = h("div", { class: "jpf-note jpf-warn" }, `could not render: ${String(err)}`);
    }
  } else if (row.msg_type === "execute_input" && row.code && v.s.mode !== "raw") {
    content = h("pre", { class: "jpf-code" }, row.code);
  }
  if (!content) return null;
  const more = h(
    "button",
    {
      type: "button",
      class: "jpf-btn jpf-small jpf-more",
      "data-role": "more",
      title: "Show the whole message",
      hidden: "",
    },
    "more",
  );
  more.addEventListener("click", (ev) => {
    ev.stopPropagation();
    open();
  });
  const box = h("div", { class: "jpf-preview-body" }, content);
  const preview = h("div", { class: "jpf-preview", "data-role": "preview" }, box, more);
  for (const img of preview.querySelectorAll("img"))
    img.addEventListener("load", hooks.measure, { once: true });
  return preview;
}

/** Show "more" on the previews on screen whose content is cut by the cap. */
export function markCutPreviews(scope: HTMLElement): void {
  for (const box of scope.querySelectorAll<HTMLElement>(".jpf-preview-body")) {
    const more = box.nextElementSibling as HTMLElement | null;
    if (!more) continue;
    const cut = box.scrollHeight > box.clientHeight + 1;
    if (more.hidden === cut) more.hidden = !cut;
  }
}
