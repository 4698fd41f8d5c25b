import { describe, expect, it } from "vitest";
import { indexAt, offsetOf } from "../src/virtual-list";

describe("virtual list layout", () => {
  const extras: [number, number][] = [
    [2, 100],
    [5, 50],
  ];
  it("offsets items after taller ones", () => {
    expect(offsetOf(0, 20, extras)).toBe(0);
    expect(offsetOf(2, 20, extras)).toBe(40);
    expect(offsetOf(3, 20, extras)).toBe(160);
    expect(offsetOf(6, 20, extras)).toBe(270);
  });
  it("finds the item at a position", () => {
    expect(indexAt(0, 20, extras, 10)).toBe(0);
    expect(indexAt(45, 20, extras, 10)).toBe(2);
    expect(indexAt(159, 20, extras, 10)).toBe(2);
    expect(indexAt(160, 20, extras, 10)).toBe(3);
    expect(indexAt(275, 20, extras, 10)).toBe(6);
    expect(indexAt(1e9, 20, extras, 10)).toBe(9);
    expect(indexAt(50, 20, [], 100)).toBe(2);
  });
});
