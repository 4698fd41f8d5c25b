import { describe, expect, it } from "vitest";
import { lowerBound, RowStore } from "../src/store";
import { row } from "./helpers";

const seqs = (s: RowStore) => s.rows.map((r) => r.seq);

describe("RowStore", () => {
  it("appends in order and dedupes by seq", () => {
    const s = new RowStore(10);
    expect(s.add([row(1), row(2)]).added.map((r) => r.seq)).toEqual([1, 2]);
    const res = s.add([row(2), row(3), row(3)]);
    expect(res.added.map((r) => r.seq)).toEqual([3]);
    expect(res.merged).toBe(false);
    expect(seqs(s)).toEqual([1, 2, 3]);
  });
  it("merges late history with live rows", () => {
    const s = new RowStore(10);
    s.add([row(8), row(9)]);
    const res = s.add([row(5), row(9), row(6), row(7), row(8)]);
    expect(res.merged).toBe(true);
    expect(res.added.map((r) => r.seq)).toEqual([5, 6, 7]);
    expect(seqs(s)).toEqual([5, 6, 7, 8, 9]);
  });
  it("keeps at most maxRows, dropping the oldest", () => {
    const s = new RowStore(5);
    s.add([1, 2, 3, 4].map((i) => row(i)));
    const res = s.add([5, 6, 7].map((i) => row(i)));
    expect(res.dropped).toBe(2);
    expect(seqs(s)).toEqual([3, 4, 5, 6, 7]);
    expect(s.has(1)).toBe(false);
    // Rows older than a full window are ignored, and re-adding dropped rows does not grow it.
    s.add([row(1), row(2)]);
    expect(seqs(s)).toEqual([3, 4, 5, 6, 7]);
  });
  it("stays bounded, at 10,000 rows unless told otherwise", () => {
    const s = new RowStore();
    for (let b = 0; b < 30; b++) s.add(Array.from({ length: 5000 }, (_, i) => row(b * 5000 + i)));
    expect(s.size).toBe(10_000);
    expect(s.firstSeq).toBe(140_000);
    expect(s.lastSeq).toBe(149_999);
    const big = new RowStore(100_000);
    for (let b = 0; b < 30; b++) big.add(Array.from({ length: 5000 }, (_, i) => row(b * 5000 + i)));
    expect(big.size).toBe(100_000);
    expect(big.firstSeq).toBe(50_000);
  });
  it("finds positions by seq", () => {
    const rows = [1, 3, 5, 7].map((i) => row(i));
    expect(lowerBound(rows, 0)).toBe(0);
    expect(lowerBound(rows, 3)).toBe(1);
    expect(lowerBound(rows, 4)).toBe(2);
    expect(lowerBound(rows, 8)).toBe(4);
  });
});
