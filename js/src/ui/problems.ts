/**
 * What a message breaks of the Jupyter messaging spec (checked in Python, jpf_widget.lint): a
 * badge on its row with the count, and in its detail each rule with its reason, where in the
 * message (the path, marked, and the value found there), and a link to the spec's section.
 */
import { h } from "../dom";
import { safeStringify } from "../json";
import type { Body, Row } from "../types";

const SPEC = "https://jupyter-client.readthedocs.io/";
const MISSING = Symbol("missing");
/** Characters of the failing value shown next to its path. */
const VALUE_CHARS = 120;

/**
 * The value at a problem's path (`content.execution_count`, `header.date`), or MISSING. Keys
 * may hold dots (`content.data.application/vnd.jupyter.widget-view+json`): at each level the
 * longest run of parts that is a key wins.
 */
export function valueAt(body: Body, path: string): unknown {
  const parts = path.split(".");
  let here: unknown = {
    header: body.header,
    parent_header: body.parent_header,
    metadata: body.metadata,
    content: body.content,
  };
  let i = 0;
  while (i < parts.length) {
    if (here === null || typeof here !== "object") return MISSING;
    const obj = here as Record<string, unknown>;
    let j = parts.length;
    while (j > i && !Object.hasOwn(obj, parts.slice(i, j).join("."))) j--;
    if (j === i) return MISSING;
    here = obj[parts.slice(i, j).join(".")];
    i = j;
  }
  return here;
}

/** `at PATH = VALUE`: the failing path, marked, and what the message holds there. */
function where(body: Body, path: string): HTMLElement {
  const value = valueAt(body, path);
  const shown =
    value === MISSING
      ? "(missing)"
      : safeStringify(value, {
          indent: 0,
          maxChars: VALUE_CHARS,
          maxString: VALUE_CHARS,
        }).text.replace(/\n/g, "");
  return h(
    "span",
    { class: "jpf-problem-where" },
    " at ",
    h("mark", { class: "jpf-problem-path", "data-role": "problem-path" }, path),
    " = ",
    h(
      "code",
      { class: "jpf-problem-value", "data-role": "problem-value" },
      shown.length > VALUE_CHARS ? `${shown.slice(0, VALUE_CHARS)}…` : shown,
    ),
  );
}

/** The row's badge, or null when the message breaks no rule. */
export function problemBadge(row: Row): HTMLElement | null {
  const count = row.problems ?? 0;
  if (count <= 0) return null;
  const words = `${count} ${count === 1 ? "problem" : "problems"} with the messaging spec`;
  return h(
    "span",
    { class: "jpf-problems", "data-role": "problems", title: words, "aria-label": words },
    `⚠ ${count}`,
  );
}

/** The detail's list of problems, or null when there are none. */
export function problemList(body: Body | undefined): HTMLElement | null {
  const problems = body?.problems ?? [];
  if (!problems.length) return null;
  return h(
    "ul",
    { class: "jpf-problem-list", "data-role": "problem-list" },
    ...problems.map((p) =>
      h(
        "li",
        { class: `jpf-problem jpf-problem-${p.severity}`, "data-rule": p.rule },
        h("span", { class: "jpf-problem-severity" }, p.severity),
        " ",
        h("code", {}, p.rule),
        p.path && body ? where(body, p.path) : null,
        `: ${p.message} `,
        // only the spec's own pages: the link comes from Python's rules, never the kernel
        p.link.startsWith(SPEC)
          ? h("a", { href: p.link, target: "_blank", rel: "noopener noreferrer" }, "spec")
          : null,
      ),
    ),
  );
}
