/**
 * A collapsible JSON tree built lazily: a container's children are created only when it is
 * opened, at most `pageSize` at a time, so neither depth 10,000 nor a 10 MB string can freeze the
 * page (no recursion over the input).
 */
import { h } from "./dom";

export interface TreeOptions {
  /** Levels opened initially. */
  openDepth?: number;
  /** Children shown per "show more" page. */
  pageSize?: number;
  /** Characters of a string shown before "show more". */
  maxString?: number;
}

const DEFAULTS = { openDepth: 1, pageSize: 100, maxString: 1000 };

function preview(v: unknown): string {
  if (Array.isArray(v)) return `[…] ${v.length} item${v.length === 1 ? "" : "s"}`;
  const n = Object.keys(v as object).length;
  return `{…} ${n} key${n === 1 ? "" : "s"}`;
}

function scalarEl(v: unknown, maxString: number): HTMLElement {
  if (typeof v === "string") {
    const span = h("span", { class: "jpf-jt-str" });
    let shown = Math.min(v.length, maxString);
    const text = () => JSON.stringify(v.slice(0, shown)) + (shown < v.length ? "…" : "");
    span.textContent = text();
    if (shown < v.length) {
      const more = h(
        "button",
        { class: "jpf-more", type: "button" },
        `show more (${v.length - shown} chars)`,
      );
      more.addEventListener("click", (ev) => {
        ev.stopPropagation();
        shown = Math.min(v.length, shown * 100);
        span.textContent = text();
        if (shown >= v.length) more.remove();
        else more.textContent = `show more (${v.length - shown} chars)`;
      });
      return h("span", {}, span, " ", more);
    }
    return span;
  }
  const cls = v === null ? "null" : typeof v;
  return h("span", { class: `jpf-jt-${cls}` }, v === undefined ? "null" : String(v));
}

function isContainer(v: unknown): v is object {
  return v !== null && typeof v === "object";
}

/** One node: `key: value`, with a toggle for containers. */
function node(
  key: string | null,
  value: unknown,
  depth: number,
  o: Required<TreeOptions>,
): HTMLElement {
  const row = h("div", { class: "jpf-jt-node" });
  const label = key === null ? null : h("span", { class: "jpf-jt-key" }, `${key}: `);
  if (!isContainer(value)) {
    row.append(...[label, scalarEl(value, o.maxString)].filter((x): x is HTMLElement => !!x));
    return row;
  }
  const entries = Array.isArray(value) ? null : Object.keys(value);
  const count = entries ? entries.length : (value as unknown[]).length;
  const toggle = h(
    "button",
    { class: "jpf-jt-toggle", type: "button", "aria-expanded": "false" },
    "▸",
  );
  const summary = h("span", { class: "jpf-jt-preview" }, preview(value));
  const kids = h("div", { class: "jpf-jt-children" });
  kids.hidden = true;
  let built = 0;
  const page = () => {
    const end = Math.min(count, built + o.pageSize);
    const frag = document.createDocumentFragment();
    for (let i = built; i < end; i++) {
      const k = entries ? entries[i] : String(i);
      const v = entries ? (value as Record<string, unknown>)[k] : (value as unknown[])[i];
      frag.append(node(k, v, depth + 1, o));
    }
    built = end;
    kids.querySelector(":scope > .jpf-more")?.remove();
    kids.append(frag);
    if (built < count) {
      const more = h(
        "button",
        { class: "jpf-more", type: "button" },
        `show ${Math.min(o.pageSize, count - built)} more of ${count - built}`,
      );
      more.addEventListener("click", (ev) => {
        ev.stopPropagation();
        page();
      });
      kids.append(more);
    }
  };
  const setOpen = (open: boolean) => {
    if (open && built === 0 && count > 0) page();
    kids.hidden = !open;
    toggle.textContent = open ? "▾" : "▸";
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", (ev) => {
    ev.stopPropagation();
    setOpen(kids.hidden);
  });
  row.append(toggle);
  if (label) row.append(label);
  row.append(summary, kids);
  if (count > 0 && depth < o.openDepth) setOpen(true);
  return row;
}

/** A tree for `value`. Opening is lazy; `openDepth` levels start open. */
export function jsonTree(value: unknown, opts: TreeOptions = {}): HTMLElement {
  const o = { ...DEFAULTS, ...opts };
  return h("div", { class: "jpf-jt" }, node(null, value, 0, o));
}
