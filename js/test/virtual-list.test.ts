// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { indexAt, type ListSource, offsetOf, VirtualList } from "../src/virtual-list";

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

describe("virtual list following", () => {
  it("follows the tail again when everything fits", () => {
    let n = 100;
    const source: ListSource = {
      count: () => n,
      keyAt: (i) => `k${i}`,
      indexOf: (k) => Number(k.slice(1)),
      stampAt: () => "",
      build: () => document.createElement("div"),
    };
    const scroller = document.createElement("div");
    const list = new VirtualList(scroller, source, 22, 2);
    const seen: boolean[] = [];
    list.onFollowChange = (f) => seen.push(f);
    list.following = false; // the user scrolled up
    list.draw();
    expect(list.following).toBe(false);
    n = 3; // a filter shrank the list below a screen (jsdom: 400 px)
    list.draw();
    expect(list.following).toBe(true);
    expect(seen).toEqual([true]);
    list.dispose();
  });
});
