import { describe, expect, it } from "vitest";
import { makePredicate, NO_FILTERS, narrows, sameFilters, textMatcher } from "../src/filter";
import { throttleDelay } from "../src/throttle";
import { row } from "./helpers";

describe("text filter", () => {
  it("matches case-insensitively, as a plain substring (no regex syntax)", () => {
    const m = textMatcher("  Hello.World ");
    expect(m).not.toBeNull();
    expect(m?.("say hello.world!")).toBe(true);
    expect(m?.("HELLO.WORLD")).toBe(true);
    expect(m?.("helloxworld")).toBe(false);
    expect(textMatcher("   ")).toBeNull();
    const brackets = textMatcher('"i":99}[(*+?\\');
    expect(brackets?.('x {"I":99}[(*+?\\ y')).toBe(true);
    expect(brackets?.('{"i":9}')).toBe(false);
    const digits = textMatcher("12:3");
    expect(digits?.("a12:34")).toBe(true);
    expect(digits?.("a12:4")).toBe(false);
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

  it("knows when only more text was typed", () => {
    const a = { ...NO_FILTERS, text: "ab" };
    expect(narrows(a, { ...a, text: "abc" })).toBe(true);
    expect(narrows(a, { ...a, text: " xABy " })).toBe(true);
    expect(narrows(a, { ...a, text: "a" })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", types: ["stream"] })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", showStatus: true })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", clearedSeq: 5 })).toBe(false);
    expect(narrows(a, { ...a, text: "abc", showOwn: true })).toBe(false);
    expect(sameFilters(a, { ...a, text: " AB" })).toBe(true);
    expect(sameFilters(a, { ...a, text: "abc" })).toBe(false);
    expect(sameFilters(a, { ...a, types: ["x"] })).toBe(false);
  });

  it("narrowing the shown rows gives what filtering everything gives", () => {
    const rows = Array.from({ length: 200 }, (_, i) =>
      row(i, { summary: `item ${i}`, channel: i % 50 === 0 ? "monitor" : "iopub" }),
    );
    const f1 = { ...NO_FILTERS, text: "1" };
    const f2 = { ...NO_FILTERS, text: "item 1" };
    const shown = rows.filter(makePredicate(f1));
    expect(narrows(f1, f2)).toBe(true);
    expect(shown.filter(makePredicate(f2))).toEqual(rows.filter(makePredicate(f2)));
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
