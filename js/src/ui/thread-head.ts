/**
 * A thread's header line in threaded mode: a captured request (its time, route, type and
 * summary; a click opens its body), a request rebuilt from its replies' parent headers (a
 * placeholder), or a comm (target and short comm id); then the number of messages, the busy
 * time, and the reply's status and the time to it; "diagram" copies the thread's sequence
 * diagram (Mermaid, from Python's `diagram`). The caret collapses the thread.
 */
import { routeSpan } from "../clients";
import { copyText, h } from "../dom";
import { threadDiagram } from "../model/exports";
import { replyStatus, type Thread } from "../threads";
import { formatDuration, formatIsoTime, formatTime, shortId } from "../time";
import { buildDetail, type ItemHooks } from "./detail";
import type { View } from "./view";

/** "diagram": copy the request thread's sequence diagram; `data-copied` says how it went. */
function diagramButton(v: View, msgId: string): HTMLElement {
  const b = h(
    "button",
    {
      type: "button",
      class: "jpf-copy",
      "data-role": "copy-diagram",
      title: "Copy this thread as a Mermaid sequence diagram (for a Markdown cell or an issue)",
    },
    "diagram",
  );
  b.addEventListener("click", (ev) => {
    ev.stopPropagation();
    b.dataset.copied = "pending";
    threadDiagram(v.s.client, msgId)
      .then(copyText, () => false)
      .then((ok) => {
        b.dataset.copied = ok ? "true" : "false";
        b.textContent = ok ? "copied" : "copy failed";
        setTimeout(() => {
          b.textContent = "diagram";
        }, 1200);
      });
  });
  return b;
}

export function buildThreadHead(v: View, th: Thread, hooks: ItemHooks): HTMLElement {
  const closed = v.collapsed.has(th.key);
  const bits: (Node | string | null)[] = [
    h(
      "span",
      { class: "jpf-caret", title: closed ? "expand the thread" : "collapse the thread" },
      closed ? "▸" : "▾",
    ),
  ];
  const head = th.head;
  if (th.kind === "comm") {
    bits.push(
      h("span", { class: "jpf-type" }, "comm"),
      h(
        "span",
        { class: "jpf-summary" },
        `${th.target || "(target unknown)"} · ${shortId(th.commId)}`,
      ),
    );
  } else if (head) {
    bits.push(
      h(
        "span",
        {
          class: "jpf-head-request",
          title: `${head.msg_type} ${head.msg_id} (click: show the request)`,
        },
        h("span", { class: "jpf-time" }, formatTime(head.t)),
        routeSpan(head),
        h("span", { class: "jpf-type" }, head.msg_type),
        h("span", { class: "jpf-summary" }, head.summary),
      ),
    );
  } else {
    const p = th.placeholder;
    const firstLine = th.code.split("\n", 1)[0];
    bits.push(
      h(
        "span",
        {
          class: "jpf-placeholder",
          "data-role": "placeholder",
          title: th.code || "request seen only through its replies",
        },
        h("span", { class: "jpf-time" }, p?.date ? formatIsoTime(p.date) : ""),
        h("span", { class: "jpf-type" }, p?.msg_type || "request"),
        p?.session ? h("span", { class: "jpf-note" }, `session ${shortId(p.session)}`) : null,
        th.rows.some((r) => r.own) ? h("span", { class: "jpf-note" }, "(the monitor's own)") : null,
        firstLine ? h("code", { class: "jpf-code-inline" }, firstLine) : null,
      ),
    );
  }
  const busy = th.busyOpen
    ? "busy…"
    : th.busyMs !== null
      ? `busy ${formatDuration(th.busyMs)}`
      : "";
  const meta = h(
    "span",
    { class: "jpf-thread-meta" },
    `${th.rows.length} msg${th.rows.length === 1 ? "" : "s"}${busy ? ` · ${busy}` : ""}`,
  );
  const status = th.reply ? replyStatus(th.reply) : "";
  if (th.reply) {
    meta.append(
      " · ",
      h(
        "span",
        {
          class: `jpf-reply jpf-reply-${status || "unknown"}`,
          "data-role": "reply-status",
          "data-status": status,
          title: `${th.reply.msg_type}: ${th.reply.summary}`,
        },
        status ? `reply ${status}` : "replied",
      ),
    );
    if (head) {
      meta.append(
        " ",
        h(
          "span",
          {
            class: "jpf-reply-time",
            "data-role": "reply-time",
            title: "from the request to its reply (as received by the monitor)",
          },
          `in ${formatDuration(Math.max(0, th.reply.t - head.t))}`,
        ),
      );
    }
  }
  bits.push(meta);
  if (th.kind === "request" && th.parentId) bits.push(diagramButton(v, th.parentId));
  const line = h(
    "div",
    {
      class: "jpf-thread-head",
      role: "listitem",
      tabindex: "-1",
      "aria-expanded": String(!closed),
      "data-thread-key": th.key,
      "data-head": th.kind === "comm" ? "comm" : head ? "request" : "placeholder",
      "data-direction": head?.direction || undefined,
      "data-client": head?.client || undefined,
      "data-reply-status": th.reply ? status || "unknown" : undefined,
    },
    ...bits,
  );
  if (!head || !v.expanded.has(head.seq)) return line;
  // The request, opened: its body below the header line.
  return h(
    "div",
    { class: "jpf-head-open jpf-expanded", "data-head-seq": String(head.seq) },
    line,
    buildDetail(v, head, hooks),
  );
}
