// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makePredicate, NO_FILTERS } from "../src/filter";
import { toBodies, toRow } from "../src/protocol";
import { problemBadge, problemList, valueAt } from "../src/ui/problems";
import widget from "../src/widget";
import { fakeModel, row } from "./helpers";

const LINK = "https://jupyter-client.readthedocs.io/en/latest/messaging.html#request-reply";

describe("problems with the messaging spec", () => {
  it("a row's count becomes a badge; none without problems", () => {
    expect(problemBadge(row(1))).toBeNull();
    expect(problemBadge(row(2, { problems: 0 }))).toBeNull();
    const badge = problemBadge(row(3, { problems: 2 }));
    expect(badge?.textContent).toBe("⚠ 2");
    expect(badge?.getAttribute("title")).toBe("2 problems with the messaging spec");
  });

  it("Python's rows and bodies are read leniently", () => {
    expect(toRow({ ...row(4), problems: 3 })?.problems).toBe(3);
    expect(toRow({ ...row(5), problems: "x" })?.problems).toBe(0);
    const [body] = toBodies([
      {
        seq: 6,
        problems: [
          { rule: "execute_reply.status.enum", severity: "error", message: "status 'abort'" },
          "junk",
        ],
      },
    ]);
    expect(body.problems).toEqual([
      {
        rule: "execute_reply.status.enum",
        severity: "error",
        message: "status 'abort'",
        path: "",
        link: "",
      },
    ]);
  });

  it("the detail lists each rule, where, why, and links only to the spec", () => {
    const [body] = toBodies([
      {
        seq: 7,
        problems: [
          {
            rule: "execute_reply.status.enum",
            severity: "error",
            message: "status '<b>abort</b>'",
            path: "content.status",
            link: LINK,
          },
          {
            rule: "reply.status.aborted",
            severity: "warning",
            message: "deprecated",
            path: "",
            link: "javascript:alert(1)",
          },
        ],
      },
    ]);
    const list = problemList(body);
    const items = list?.querySelectorAll("li") ?? [];
    expect(items).toHaveLength(2);
    expect(items[0].getAttribute("data-rule")).toBe("execute_reply.status.enum");
    expect(items[0].textContent).toContain("at content.status = (missing): status '<b>abort</b>'");
    expect(items[0].querySelector("[data-role=problem-path]")?.textContent).toBe("content.status");
    expect(items[0].querySelector("b")).toBeNull(); // kernel text is text, never markup
    expect(items[0].querySelector("a")?.getAttribute("href")).toBe(LINK);
    expect(items[1].className).toContain("jpf-problem-warning");
    expect(items[1].querySelector("a")).toBeNull();
    expect(problemList(toBodies([{ seq: 8 }])[0])).toBeNull();
  });

  it("the detail shows what the message holds at the failing path", () => {
    const [body] = toBodies([
      {
        seq: 9,
        header: { date: "yesterday" },
        content: {
          execution_count: "3",
          data: { "application/vnd.jupyter.widget-view+json": { model_id: 7 } },
          text: "x".repeat(500),
        },
        problems: [
          { rule: "a", severity: "error", message: "m", path: "content.execution_count" },
          { rule: "b", severity: "error", message: "m", path: "header.date" },
          { rule: "c", severity: "error", message: "m", path: "content.text" },
        ],
      },
    ]);
    expect(valueAt(body, "content.execution_count")).toBe("3");
    expect(valueAt(body, "content.data.application/vnd.jupyter.widget-view+json.model_id")).toBe(7);
    expect(typeof valueAt(body, "content.data.nothing")).toBe("symbol");
    expect(typeof valueAt(body, "content.execution_count.deeper")).toBe("symbol");
    const values = [...(problemList(body)?.querySelectorAll("[data-role=problem-value]") ?? [])];
    expect(values.map((v) => v.textContent?.slice(0, 12))).toEqual([
      '"3"',
      '"yesterday"',
      `"${"x".repeat(11)}`,
    ]);
    expect(values[2].textContent?.length).toBeLessThanOrEqual(121); // cut, with an ellipsis
    expect(values[2].textContent?.endsWith("…")).toBe(true);
  });

  it("the problems filter lists only rows with problems, and markers", () => {
    const keep = makePredicate({ ...NO_FILTERS, onlyProblems: true });
    expect(keep(row(1, { problems: 2 }))).toBe(true);
    expect(keep(row(2, { problems: 0 }))).toBe(false);
    expect(keep(row(3))).toBe(false);
    expect(keep(row(4, { channel: "monitor", msg_type: "attached" }))).toBe(true);
    expect(makePredicate(NO_FILTERS)(row(5))).toBe(true);
  });
});

describe("problem counts that come after their rows", () => {
  const settle = () => vi.advanceTimersByTimeAsync(400);
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: [
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
        "requestAnimationFrame",
        "cancelAnimationFrame",
        "performance",
        "Date",
      ],
    });
  });
  afterEach(() => {
    document.body.innerHTML = "";
    vi.useRealTimers();
  });

  it("badge the rows already drawn, and the problems filter follows them", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    document.body.append(el);
    widget.initialize({ model: f.model });
    const cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "history", id: f.sent[0].id, total: 3 }, [row(1), row(2), row(3)]);
    await settle();
    const badges = () =>
      [...el.querySelectorAll<HTMLElement>("[data-role=row]")]
        .filter((r) => r.querySelector("[data-role=problems]"))
        .map((r) => [Number(r.dataset.seq), r.querySelector("[data-role=problems]")?.textContent]);
    expect(badges()).toEqual([]);
    // counts for a row held, one not held (ignored), and malformed pairs (left out)
    f.custom({ kind: "problems", seqs: [2, 99, 3, "x"], counts: [2, 1, -1, 1] }, []);
    await settle();
    expect(badges()).toEqual([[2, "⚠ 2"]]);
    f.model.set("only_problems", true);
    await settle();
    const listed = () =>
      [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));
    expect(listed()).toEqual([2]);
    f.custom({ kind: "problems", seqs: [3], counts: [1] }, []);
    await settle();
    expect(listed()).toEqual([2, 3]);
    cleanup?.();
  });
});
