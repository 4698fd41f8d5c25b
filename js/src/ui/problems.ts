/**
 * What a message breaks of the Jupyter messaging spec (checked in Python, jpf_widget.lint): a
 * badge on its row with the count, and in its detail each rule with its reason, where in the
 * message, and a link to the spec's section.
 */
import { h } from "../dom";
import type { Body, Row } from "../types";

const SPEC = "https://jupyter-client.readthedocs.io/";

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
        p.path ? h("span", { class: "jpf-problem-path" }, ` at ${p.path}`) : null,
        `: ${p.message} `,
        // only the spec's own pages: the link comes from Python's rules, never the kernel
        p.link.startsWith(SPEC)
          ? h("a", { href: p.link, target: "_blank", rel: "noopener noreferrer" }, "spec")
          : null,
      ),
    ),
  );
}
