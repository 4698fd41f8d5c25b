/** Rendering a message Body: rendered output per msg_type, and raw pretty JSON. */
import { ansiToSafeHtml, hasAnsi } from "./ansi";
import { copyButton, h } from "./dom";
import { capText, safeStringify } from "./json";
import { jsonTree } from "./json-tree";
import { chooseMime, mimeKind, orderMimes } from "./mime";
import { sanitizeHtmlFragment, sanitizeSvgFragment } from "./sanitize";
import type { Body, Row } from "./types";

/** Characters of text shown before "show more". */
export const TEXT_CAP = 100_000;
/** HTML longer than this is shown as source instead of being sanitized and rendered. */
export const HTML_CAP = 2_000_000;

function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.join("");
  if (v === null || v === undefined) return "";
  return safeStringify(v, { maxChars: TEXT_CAP }).text;
}

/** A <pre> with at most TEXT_CAP characters, more on demand; ANSI colours when present. */
export function textBlock(text: string, cls = "", ansi = true): HTMLElement {
  const pre = h("pre", { class: `jpf-text ${cls}`.trim() });
  let shown = 0;
  const wrap = h("div", { class: "jpf-textwrap" }, pre);
  const more = h("button", { class: "jpf-more", type: "button" });
  const step = (n: number) => {
    const { text: chunk, cut } = capText(text.slice(shown), n);
    shown += chunk.length;
    if (ansi && hasAnsi(chunk)) {
      const span = document.createElement("span");
      span.innerHTML = ansiToSafeHtml(chunk); // escaped by ansi_up, then sanitized
      pre.append(span);
    } else {
      pre.append(document.createTextNode(chunk));
    }
    if (cut) {
      more.textContent = `show more (${cut.toLocaleString()} more characters)`;
      if (!more.isConnected) wrap.append(more);
    } else {
      more.remove();
    }
  };
  more.addEventListener("click", (ev) => {
    ev.stopPropagation();
    step(TEXT_CAP * 10);
  });
  step(TEXT_CAP);
  return wrap;
}

function base64Ok(s: string): boolean {
  return /^[A-Za-z0-9+/=\s]*$/.test(s);
}

/** One mime representation of a display bundle. */
export function renderMime(mime: string, data: unknown): HTMLElement {
  const kind = mimeKind(mime);
  const out = h("div", { class: `jpf-mime jpf-mime-${kind}`, "data-mime": mime });
  if (kind === "image") {
    const s = str(data);
    if (!base64Ok(s)) {
      out.append(textBlock("(not base64 image data)", "jpf-note", false));
      return out;
    }
    const img = h("img", { alt: mime });
    img.src = `data:${mime};base64,${s.replace(/\s/g, "")}`;
    out.append(img);
  } else if (kind === "svg") {
    out.append(sanitizeSvgFragment(str(data)));
  } else if (kind === "html") {
    const html = str(data);
    if (html.length > HTML_CAP) {
      out.append(
        h(
          "div",
          { class: "jpf-note" },
          `HTML of ${html.length.toLocaleString()} characters: shown as source`,
        ),
        textBlock(html, "jpf-code", false),
      );
    } else {
      out.append(sanitizeHtmlFragment(html));
    }
  } else if (kind === "json") {
    out.append(jsonTree(data, { openDepth: 2 }));
  } else if (kind === "source") {
    out.append(
      h("div", { class: "jpf-note" }, "shown as source, not run"),
      textBlock(str(data), "jpf-code", false),
    );
  } else {
    out.append(textBlock(str(data), mime === "text/plain" ? "" : "jpf-code"));
  }
  return out;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A display bundle with its mime chooser. `chosen` remembers the choice per message. */
function renderBundle(
  content: Record<string, unknown>,
  seq: number,
  chosen: Map<number, string>,
  onResize: () => void,
): HTMLElement[] {
  const data = obj(content.data);
  const mimes = orderMimes(Object.keys(data));
  if (!mimes.length) return [h("div", { class: "jpf-note" }, "(empty bundle)")];
  let current = chosen.get(seq);
  if (!current || !mimes.includes(current)) current = chooseMime(mimes);
  const select = h("select", { "data-role": "mime-select", title: "Show this representation" });
  for (const m of mimes) {
    const opt = h("option", { value: m }, m);
    if (m === current) opt.selected = true;
    select.append(opt);
  }
  const area = h("div", { class: "jpf-bundle" }, renderMime(current, data[current]));
  select.addEventListener("click", (ev) => ev.stopPropagation());
  select.addEventListener("change", () => {
    chosen.set(seq, select.value);
    area.replaceChildren(renderMime(select.value, data[select.value]));
    onResize();
  });
  const transient = obj(content.transient);
  const bits = [h("span", { class: "jpf-note" }, "mime "), select];
  if (typeof content.execution_count === "number")
    bits.unshift(h("span", { class: "jpf-prompt" }, `Out[${content.execution_count}]: `));
  if (typeof transient.display_id === "string")
    bits.push(h("span", { class: "jpf-note" }, ` display_id ${transient.display_id}`));
  if (Object.keys(obj(content.metadata)).length)
    bits.push(h("span", { class: "jpf-note" }, " (has metadata)"));
  return [h("div", { class: "jpf-bundle-bar" }, ...bits), area];
}

export interface RenderContext {
  mimeChoice: Map<number, string>;
  onResize: () => void;
}

/** The rendered body of a message, by msg_type. */
export function renderBody(row: Row, body: Body, ctx: RenderContext): HTMLElement {
  const out = h("div", { class: "jpf-rendered", "data-role": "rendered-output" });
  const c = body.content;
  const type = row.msg_type;
  if (type === "stream") {
    const name = String(c.name ?? "stdout");
    out.append(
      h("div", { class: "jpf-note" }, name),
      textBlock(str(c.text), `jpf-stream jpf-${name === "stderr" ? "stderr" : "stdout"}`),
    );
  } else if (type === "execute_input") {
    const n = c.execution_count;
    out.append(
      h("div", { class: "jpf-prompt" }, `In [${typeof n === "number" ? n : " "}]:`),
      textBlock(str(c.code), "jpf-code", false),
    );
  } else if (
    type === "execute_result" ||
    type === "display_data" ||
    type === "update_display_data"
  ) {
    out.append(...renderBundle(c, row.seq, ctx.mimeChoice, ctx.onResize));
  } else if (type === "error") {
    const tb = Array.isArray(c.traceback) ? c.traceback.map(str).join("\n") : "";
    out.append(
      h("div", { class: "jpf-error-head" }, `${str(c.ename)}: ${str(c.evalue)}`),
      textBlock(tb || `${str(c.ename)}: ${str(c.evalue)}`, "jpf-traceback"),
    );
  } else if (type.startsWith("comm_")) {
    const meta = [
      c.target_name ? `target ${str(c.target_name)}` : "",
      `comm_id ${str(c.comm_id)}`,
      c.target_module ? `module ${str(c.target_module)}` : "",
    ].filter(Boolean);
    out.append(
      h("div", { class: "jpf-note" }, meta.join(" · ")),
      jsonTree(c.data ?? {}, { openDepth: 1 }),
    );
    if (body.buffers.length)
      out.append(h("div", { class: "jpf-note" }, `buffers: ${body.buffers.join(", ")} bytes`));
  } else if (type === "status") {
    const state = str(c.execution_state);
    out.append(h("span", { class: "jpf-dot", "data-state": state }), ` ${state}`);
  } else if (type === "clear_output") {
    out.append(h("div", { class: "jpf-note" }, `clear_output (wait=${String(c.wait ?? false)})`));
  } else {
    out.append(jsonTree(c, { openDepth: 1 }));
  }
  if (body.truncated)
    out.append(
      h(
        "div",
        { class: "jpf-note jpf-warn" },
        "large strings in this message were cut by the monitor",
      ),
    );
  return out;
}

/** Pretty JSON of every part of a message, each part collapsible, with a copy button. */
export function renderRaw(body: Body): HTMLElement {
  const parts: [string, unknown][] = [
    ["header", body.header],
    ["parent_header", body.parent_header],
    ["metadata", body.metadata],
    ["content", body.content],
    ["buffers", body.buffers],
  ];
  const out = h("div", { class: "jpf-raw", "data-role": "raw-json" });
  const all = () =>
    safeStringify(
      {
        header: body.header,
        parent_header: body.parent_header,
        metadata: body.metadata,
        content: body.content,
        buffers: body.buffers,
      },
      { maxChars: 20_000_000, maxDepth: 500, maxString: 10_000_000 },
    ).text;
  out.append(
    h(
      "div",
      { class: "jpf-raw-bar" },
      copyButton(all, "copy-json", "copy JSON"),
      body.truncated
        ? h("span", { class: "jpf-note jpf-warn" }, " large strings were cut by the monitor")
        : null,
    ),
  );
  for (const [name, value] of parts) {
    const det = h("details", { class: "jpf-raw-part" }, h("summary", {}, name));
    det.open = name !== "metadata" || Object.keys(obj(value)).length > 0;
    const { text, truncated } = safeStringify(value, {
      maxDepth: 100,
      maxChars: TEXT_CAP * 2,
      maxString: TEXT_CAP,
    });
    det.append(textBlock(text, "jpf-json", false));
    if (truncated)
      det.append(h("div", { class: "jpf-note" }, "(cut for display; copy JSON gives more)"));
    out.append(det);
  }
  return out;
}
