// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { indexAt, type ListSource, offsetOf, reconcile, VirtualList } from "../src/virtual-list";

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

describe("reconcile", () => {
  const kids = (p: Element) => [...p.children].map((c) => c.id);
  const el = (id: string) => {
    const d = document.createElement("div");
    d.id = id;
    return d;
  };
  it("moves in new items and drops old ones, keeping the others in place", () => {
    const p = document.createElement("div");
    const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(el);
    reconcile(p, [a, b, c]);
    expect(kids(p)).toEqual(["a", "b", "c"]);
    reconcile(p, [b, c, d, e]);
    expect(kids(p)).toEqual(["b", "c", "d", "e"]);
    expect(b.parentNode).toBe(p);
    reconcile(p, [e, a, c]);
    expect(kids(p)).toEqual(["e", "a", "c"]);
    reconcile(p, []);
    expect(kids(p)).toEqual([]);
  });
  it("leaves the unchanged items' nodes untouched when scrolling by one", () => {
    const p = document.createElement("div");
    const items = ["a", "b", "c", "d"].map(el);
    reconcile(p, items.slice(0, 3));
    const mo = new MutationObserver(() => {});
    mo.observe(p, { childList: true });
    reconcile(p, items.slice(1, 4));
    const recs = mo.takeRecords();
    const moved = recs.flatMap((r) =>
      [...r.addedNodes, ...r.removedNodes].map((n) => (n as Element).id),
    );
    expect(moved.sort()).toEqual(["a", "d"]);
    expect(kids(p)).toEqual(["b", "c", "d"]);
  });
});

describe("element reuse", () => {
  it("rewrites the elements of rows that left for the rows that came, in place", () => {
    let n = 10;
    let built = 0;
    const text = (i: number) => `row ${i}`;
    const source: ListSource = {
      count: () => n,
      keyAt: (i) => `k${i}`,
      indexOf: (k) => Number(k.slice(1)),
      stampAt: () => "c",
      build: (i) => {
        built++;
        const d = document.createElement("div");
        d.textContent = text(i);
        return d;
      },
      patch: (el, i) => {
        el.textContent = text(i);
        return true;
      },
    };
    const scroller = document.createElement("div");
    const list = new VirtualList(scroller, source, 22, 2);
    list.draw();
    const before = [...list.win.children];
    const shown = () => [...list.win.children].map((c) => c.textContent);
    expect(shown()).toEqual(Array.from({ length: 10 }, (_, i) => text(i)));
    expect(built).toBe(10);
    // A live tail: 1,000 new rows, the window shows only the newest (jsdom: 400 px, 19 rows).
    n = 1010;
    list.draw();
    const after = [...list.win.children];
    expect(shown()[after.length - 1]).toBe(text(1009));
    expect(shown()).toEqual(
      Array.from({ length: after.length }, (_, i) => text(1010 - after.length + i)),
    );
    // The old elements were reused, in their places; only the extra ones were built.
    expect(after.slice(0, 10)).toEqual(before);
    expect(built).toBe(after.length);
    list.dispose();
  });

  it("builds when an element cannot be rewritten", () => {
    let n = 3;
    let built = 0;
    const source: ListSource = {
      count: () => n,
      keyAt: (i) => `k${i}`,
      indexOf: (k) => Number(k.slice(1)),
      stampAt: (i) => (i % 2 ? "odd" : "even"),
      build: (i) => {
        built++;
        const d = document.createElement("div");
        d.textContent = String(i);
        return d;
      },
      patch: () => false,
    };
    const list = new VirtualList(document.createElement("div"), source, 22, 2);
    list.draw();
    n = 200;
    list.draw();
    expect([...list.win.children].map((c) => c.textContent).at(-1)).toBe("199");
    expect(built).toBe(3 + list.win.children.length);
    list.dispose();
  });
});
