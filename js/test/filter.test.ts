import { describe, expect, it } from "vitest";
import { makePredicate, NO_FILTERS, narrows, sameFilters } from "../src/filter";
import { throttleDelay } from "../src/throttle";
import { row } from "./helpers";

describe("text filter", () => {
  it("matches free text case-insensitively, as a plain substring (no regex syntax)", () => {
    const p = (text: string) => makePredicate({ ...NO_FILTERS, text });
    const r = (summary: string) => row(1, { summary });
    expect(p("  Hello.World ")(r("say hello.world!"))).toBe(true);
    expect(p("Hello.World")(r("helloxworld"))).toBe(false);
    expect(p("   ")(r("anything"))).toBe(true);
    const brackets = String.raw`"\"i\":99}[(+?\\"`;
    expect(p(brackets)(r('x {"I":99}[(+?\\ y'))).toBe(true);
    expect(p(brackets)(r('{"i":9}'))).toBe(false);
  });

  it("looks at summary, msg_type, msg_id and comm_id", () => {
    const p = (text: string) => makePredicate({ ...NO_FILTERS, text });
    const r = row(1, { summary: "Some Output", msg_id: "ABC-1", comm_id: "Comm-9" });
    expect(p("output")(r)).toBe(true);
    expect(p("STREAM")(r)).toBe(true);
    expect(p("abc-1")(r)).toBe(true);
    expect(p("comm-9")(r)).toBe(true);
    expect(p("nope")(r)).toBe(false);
    // Markers ignore the text filter.
    expect(p("nope")(row(2, { channel: "monitor", msg_type: "gap" }))).toBe(true);
  });

  it("leaves a path term to `deep` (Python's answer), hiding the row without one", () => {
    const f = { ...NO_FILTERS, text: "content.data.method:update" };
    const r = row(3, { msg_type: "comm_msg" });
    expect(makePredicate(f)(r)).toBe(false);
    expect(makePredicate(f, (x) => x.seq === 3)(r)).toBe(true);
    expect(makePredicate(f, () => false)(r)).toBe(false);
    // a term the row decides needs no answer
    const asked: number[] = [];
    const deep = (x: { seq: number }) => {
      asked.push(x.seq);
      return true;
    };
    const q = { ...NO_FILTERS, text: "msg_type:stream content.x:1" };
    expect(makePredicate(q, deep)(r)).toBe(false);
    expect(asked).toEqual([]);
  });

  it("knows when only more was typed", () => {
    const a = { ...NO_FILTERS, text: "ab" };
    expect(narrows(a, { ...a, text: "abc" })).toBe(true);
    expect(narrows(a, { ...a, text: " xABy " })).toBe(true);
    expect(narrows(a, { ...a, text: "abc msg_type:x" })).toBe(true);
    expect(narrows(a, { ...a, text: "a" })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", types: ["stream"] })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", showStatus: true })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", clearedSeq: 5 })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", showOwn: true })).toBe(false);
    // a field's value is matched whole: a longer one is another value, not a narrower one
    const t = { ...NO_FILTERS, text: "msg_type:comm" };
    expect(narrows(t, { ...t, text: "msg_type:comm_msg" })).toBe(false);
    expect(narrows(t, { ...t, text: "msg_type:comm -hello" })).toBe(true);
    expect(narrows(a, { ...a, text: "ab OR c" })).toBe(false);
    expect(narrows(a, { ...a, text: "-abc" })).toBe(false);
    expect(narrows(a, { ...a, text: "a*b" })).toBe(false);
    expect(narrows(NO_FILTERS, { ...a, text: "msg_type:x" })).toBe(true);
    // a path term waits for Python: the list is filtered anew
    expect(narrows(a, { ...a, text: "ab content.x:1" })).toBe(false);
    expect(sameFilters(a, { ...a, text: " ab" })).toBe(true);
    expect(sameFilters(a, { ...a, text: "AB" })).toBe(false);
    expect(sameFilters(a, { ...a, text: "abc" })).toBe(false);
    expect(sameFilters(a, { ...a, types: ["x"] })).toBe(false);
  });

  it("narrowing the shown rows gives what filtering everything gives", () => {
    const rows = Array.from({ length: 200 }, (_, i) =>
      row(i, {
        summary: `item ${i}`,
        channel: i % 50 === 0 ? "monitor" : "iopub",
        msg_type: i % 3 ? "stream" : "error",
      }),
    );
    const steps = ["1", "item 1", "item 1 msg_type:stream", "item 1 msg_type:stream -item 12"];
    for (let i = 1; i < steps.length; i++) {
      const f1 = { ...NO_FILTERS, text: steps[i - 1] };
      const f2 = { ...NO_FILTERS, text: steps[i] };
      const shown = rows.filter(makePredicate(f1));
      expect(narrows(f1, f2)).toBe(true);
      expect(shown.filter(makePredicate(f2))).toEqual(rows.filter(makePredicate(f2)));
    }
  });
});

describe("direction and client filters", () => {
  // The same cases as jpf_widget.rows.row_filter (a client filter keeps rows without a
  // client: iopub goes to every client).
  const req = row(1, {
    channel: "shell",
    direction: "to_kernel",
    client: "a1",
    msg_type: "execute_request",
  });
  const reply = row(2, {
    channel: "shell",
    direction: "from_kernel",
    client: "a1",
    msg_type: "execute_reply",
  });
  const other = row(3, {
    channel: "control",
    direction: "to_kernel",
    client: "b2",
    msg_type: "interrupt_request",
  });
  const input = row(4, {
    channel: "stdin",
    direction: "from_kernel",
    client: "b2",
    msg_type: "input_request",
  });
  const iopub = row(5, { msg_type: "stream" });
  const unknown = row(6, {
    channel: "shell",
    direction: "from_kernel",
    client: "",
    msg_type: "kernel_info_reply",
  });
  const marker = row(7, { channel: "monitor", direction: "", msg_type: "gap" });
  const all = [req, reply, other, input, iopub, unknown, marker];
  const seqs = (over: Partial<typeof NO_FILTERS>) =>
    all.filter(makePredicate({ ...NO_FILTERS, ...over })).map((r) => r.seq);

  it("keeps only the chosen directions (iopub comes from the kernel; markers stay)", () => {
    expect(seqs({ directions: ["to_kernel"] })).toEqual([1, 3, 7]);
    expect(seqs({ directions: ["from_kernel"] })).toEqual([2, 4, 5, 6, 7]);
    expect(seqs({ directions: ["to_kernel", "from_kernel"] })).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
  it("keeps the chosen clients' rows and every row without a client", () => {
    expect(seqs({ clients: ["a1"] })).toEqual([1, 2, 5, 6, 7]);
    expect(seqs({ clients: ["b2"] })).toEqual([3, 4, 5, 6, 7]);
    expect(seqs({ clients: ["a1", "b2"] })).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seqs({ clients: ["zz"] })).toEqual([5, 6, 7]);
  });
  it("combines with each other and with the channel filter", () => {
    expect(seqs({ clients: ["b2"], directions: ["to_kernel"] })).toEqual([3, 7]);
    expect(seqs({ clients: ["a1"], channels: ["iopub"] })).toEqual([5]);
    expect(seqs({ directions: ["to_kernel"], channels: ["shell"] })).toEqual([1]);
  });
  it("is a different filter when directions or clients change (no narrowing)", () => {
    const a = { ...NO_FILTERS, text: "x" };
    expect(narrows(a, { ...a, text: "xy", directions: ["to_kernel"] })).toBe(false);
    expect(narrows(a, { ...a, text: "xy", clients: ["a1"] })).toBe(false);
    expect(sameFilters(a, { ...a, clients: ["a1"] })).toBe(false);
    expect(sameFilters({ ...a, clients: ["a1"] }, { ...a, clients: ["a1"] })).toBe(true);
  });
});

describe("throttle", () => {
  it("waits out the rest of the interval, never longer", () => {
    expect(throttleDelay(Number.NEGATIVE_INFINITY, 1000, 250)).toBe(0);
    expect(throttleDelay(1000, 1000, 250)).toBe(250);
    expect(throttleDelay(1000, 1100, 250)).toBe(150);
    expect(throttleDelay(1000, 1300, 250)).toBe(0);
    // The clock went backwards: at most one interval.
    expect(throttleDelay(5000, 1000, 250)).toBe(250);
  });
});
