/**
 * One message row of the list: time, channel, direction mark and client pill, msg_type, summary,
 * size; opened, its detail below. Markers (channel `monitor`) are one line of text. Collapsed
 * rows are rewritten in place (`patchRow`) when the list reuses their elements.
 */
import { hasAnsi, stripAnsi } from "../ansi";
import { directionWords, fillRoute, routeKey, routeSpan } from "../clients";
import { h, setText } from "../dom";
import { isMarker } from "../filter";
import { formatBytes, formatTime } from "../time";
import type { Row } from "../types";
import { buildDetail, type ItemHooks } from "./detail";
import { buildPreview, showsPreview } from "./preview";
import { problemBadge } from "./problems";
import type { View } from "./view";

/** A row's summary as shown: a stream's escape sequences (colours) are left out of it. */
function summaryText(row: Row): string {
  return hasAnsi(row.summary) ? stripAnsi(row.summary) : row.summary;
}

/** What a screen reader says for a row. */
function rowLabel(row: Row): string {
  const route = row.direction ? ` ${directionWords(row.direction)}` : "";
  const client = row.client ? ` client ${row.client}` : "";
  return `${row.msg_type} on ${row.channel}${route}${client}: ${summaryText(row)}`;
}

/** The classes of a row element (as `buildRow` sets them). */
function rowClass(row: Row, open: boolean, depth: number): string {
  return `jpf-row${open ? " jpf-expanded" : ""}${depth ? " jpf-nested" : ""}${row.own ? " jpf-own" : ""}`;
}

export function buildRow(v: View, row: Row, depth: number, hooks: ItemHooks): HTMLElement {
  const attrs = {
    role: "listitem",
    "aria-label": rowLabel(row),
    "data-role": "row",
    "data-seq": String(row.seq),
    "data-msg-type": row.msg_type,
    "data-channel": row.channel,
    // Always present ("" when none), so rows rewritten in place keep the same attributes.
    "data-direction": row.direction,
    "data-client": row.client,
  };
  if (isMarker(row)) {
    return h(
      "div",
      { ...attrs, class: `jpf-row jpf-marker jpf-marker-${row.msg_type}`, title: row.date },
      h("span", { class: "jpf-time" }, formatTime(row.t)),
      h(
        "span",
        { class: "jpf-marker-text" },
        `${row.msg_type}${row.summary ? `: ${row.summary}` : ""}`,
      ),
    );
  }
  const open = v.expanded.has(row.seq);
  const el = h("div", {
    ...attrs,
    class: rowClass(row, open, depth),
    tabindex: "-1",
    "aria-expanded": String(open),
  });
  const line = h(
    "div",
    { class: "jpf-line", title: `${row.msg_type} ${row.msg_id}` },
    h("span", { class: "jpf-caret" }, open ? "▾" : "▸"),
    h("span", { class: "jpf-time" }, formatTime(row.t)),
    h("span", { class: `jpf-chan jpf-chan-${row.channel}` }, row.channel),
    routeSpan(row),
    h("span", { class: `jpf-type jpf-type-${row.msg_type}` }, row.msg_type),
    problemBadge(row),
    row.msg_type === "status" ? h("span", { class: "jpf-dot", "data-state": row.state }) : null,
    h("span", { class: "jpf-summary" }, summaryText(row)),
    h("span", { class: "jpf-size" }, formatBytes(row.size)),
  );
  el.append(line);
  if (open) el.append(buildDetail(v, row, hooks));
  else if (showsPreview(v, row)) {
    const preview = buildPreview(v, row, hooks, () => hooks.open(row.seq));
    if (preview) {
      el.classList.add("jpf-tall");
      el.append(preview);
    }
  }
  return el;
}

/**
 * Rewrite a collapsed row element (built by `buildRow`, depth 0) to show another collapsed
 * row, in place; false when the shapes differ (markers, the status dot).
 */
export function patchRow(v: View, el: HTMLElement, row: Row | undefined): boolean {
  if (!row || isMarker(row) || v.expanded.has(row.seq)) return false;
  // a row with a problem badge, or an element that has one, is built anew
  if (row.problems || el.querySelector(".jpf-problems")) return false;
  if (el.classList.contains("jpf-marker") || el.classList.contains("jpf-expanded")) return false;
  const line = el.firstElementChild as HTMLElement | null;
  if (!line || el.childElementCount !== 1) return false;
  const status = row.msg_type === "status";
  const parts = line.children;
  if (parts.length !== (status ? 8 : 7)) return false;
  const [, time, chan, route, type] = parts as unknown as HTMLElement[];
  const dot = status ? (parts[5] as HTMLElement) : null;
  const summary = parts[status ? 6 : 5] as HTMLElement;
  const size = parts[status ? 7 : 6] as HTMLElement;
  if (status && !dot?.classList.contains("jpf-dot")) return false;
  if (!summary.classList.contains("jpf-summary")) return false;
  const set = (e: HTMLElement, name: string, value: string) => {
    if (e.getAttribute(name) !== value) e.setAttribute(name, value);
  };
  const was = {
    channel: el.getAttribute("data-channel") ?? "",
    direction: el.getAttribute("data-direction") ?? "",
    client: el.getAttribute("data-client") ?? "",
  };
  if (routeKey(was) !== routeKey(row)) fillRoute(route, row);
  set(el, "aria-label", rowLabel(row));
  set(el, "data-seq", String(row.seq));
  set(el, "data-msg-type", row.msg_type);
  set(el, "data-channel", row.channel);
  set(el, "data-direction", row.direction);
  set(el, "data-client", row.client);
  const cls = rowClass(row, false, 0);
  if (el.className !== cls) el.className = cls;
  const title = `${row.msg_type} ${row.msg_id}`;
  if (line.title !== title) line.title = title;
  setText(time, formatTime(row.t));
  const chanCls = `jpf-chan jpf-chan-${row.channel}`;
  if (chan.className !== chanCls) chan.className = chanCls;
  setText(chan, row.channel);
  const typeCls = `jpf-type jpf-type-${row.msg_type}`;
  if (type.className !== typeCls) type.className = typeCls;
  setText(type, row.msg_type);
  if (dot) set(dot, "data-state", row.state);
  setText(summary, summaryText(row));
  setText(size, formatBytes(row.size));
  return true;
}
