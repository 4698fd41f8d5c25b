/**
 * An opened row's detail: its raw/rendered switch, ids, and the body (rendered by msg_type, or
 * as JSON), or why the body could not be had (with "retry"), or "loading".
 */
import { h } from "../dom";
import { renderBody, renderRaw } from "../render";
import type { Row } from "../types";
import { problemList } from "./problems";
import type { View } from "./view";

/** What a list item needs from its list. */
export interface ItemHooks {
  /** Draw the item showing this row again. */
  redraw(seq: number): void;
  /** Measure the drawn items again (their height changed). */
  measure(): void;
  /** Ask for this row's body again. */
  retry(seq: number): void;
  /** Open the row (its whole detail). */
  open(seq: number): void;
}

/** How an opened row shows its body: its own switch, else the view's mode. */
export function detailMode(v: View, seq: number): "raw" | "rendered" {
  return v.rowMode.get(seq) ?? (v.s.mode === "raw" ? "raw" : "rendered");
}

export function buildDetail(v: View, row: Row, hooks: ItemHooks): HTMLElement {
  const mode = detailMode(v, row.seq);
  const body = v.s.bodies.get(row.seq);
  const toggle = h(
    "button",
    { type: "button", class: "jpf-btn jpf-small", "data-role": "toggle-raw" },
    mode === "raw" ? "show rendered" : "show raw",
  );
  toggle.addEventListener("click", (ev) => {
    ev.stopPropagation();
    v.rowMode.set(row.seq, mode === "raw" ? "rendered" : "raw");
    hooks.redraw(row.seq);
  });
  const bar = h(
    "div",
    { class: "jpf-detail-bar" },
    toggle,
    h("span", { class: "jpf-note" }, ` msg_id ${row.msg_id}`),
    row.parent_id
      ? h("span", { class: "jpf-note" }, ` · parent ${row.parent_type} ${row.parent_id}`)
      : null,
  );
  const detail = h("div", { class: "jpf-detail" }, bar);
  const failed = body ? undefined : v.s.bodies.errors.get(row.seq);
  if (failed !== undefined) {
    const retry = h(
      "button",
      { type: "button", class: "jpf-btn jpf-small", "data-role": "body-retry" },
      "retry",
    );
    retry.addEventListener("click", (ev) => {
      ev.stopPropagation();
      hooks.retry(row.seq);
    });
    detail.append(
      h(
        "div",
        { class: "jpf-note jpf-warn", "data-role": "body-error" },
        `could not load this message: ${failed} `,
        retry,
      ),
    );
  } else if (!body) {
    detail.append(h("div", { class: "jpf-note jpf-loading" }, "loading body…"));
  } else {
    const problems = problemList(body);
    if (problems) detail.append(problems);
    try {
      detail.append(
        mode === "raw"
          ? renderRaw(body)
          : renderBody(row, body, { mimeChoice: v.mimeChoice, onResize: hooks.measure }),
      );
    } catch (err) {
      detail.append(h("div", { class: "jpf-note jpf-warn" }, `could not render: ${String(err)}`));
    }
  }
  // Images load asynchronously: measure again when they do.
  for (const img of detail.querySelectorAll("img"))
    img.addEventListener("load", hooks.measure, { once: true });
  return detail;
}
