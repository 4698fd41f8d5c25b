import { describe, expect, it } from "vitest";
import { LruMap } from "../src/lru";
import {
  CHUNK_ROWS,
  type Chunk,
  Interner,
  lowerBound,
  PackedRow,
  packRows,
  RowStore,
} from "../src/store";
import type { Row } from "../src/types";
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
  it("dedupes unsorted batches against themselves and the store", () => {
    const s = new RowStore(10);
    expect(s.add([row(3), row(1), row(3), row(2), row(1)]).added.map((r) => r.seq)).toEqual([
      1, 2, 3,
    ]);
    const res = s.add([row(5), row(2), row(4), row(5), row(0)]);
    expect(res.added.map((r) => r.seq)).toEqual([0, 4, 5]);
    expect(res.merged).toBe(true);
    expect(seqs(s)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.add([row(4), row(2)]).added).toEqual([]);
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
  it("stays bounded at 100,000 rows", () => {
    const s = new RowStore();
    for (let b = 0; b < 30; b++) s.add(Array.from({ length: 5000 }, (_, i) => row(b * 5000 + i)));
    expect(s.size).toBe(100_000);
    expect(s.firstSeq).toBe(50_000);
    expect(s.lastSeq).toBe(149_999);
  });
  it("finds positions by seq", () => {
    const rows = [1, 3, 5, 7].map((i) => row(i));
    expect(lowerBound(rows, 0)).toBe(0);
    expect(lowerBound(rows, 3)).toBe(1);
    expect(lowerBound(rows, 4)).toBe(2);
    expect(lowerBound(rows, 8)).toBe(4);
  });
});

const FIELDS: (keyof Row)[] = [
  "seq",
  "msg_id",
  "msg_type",
  "channel",
  "t",
  "date",
  "session",
  "parent_id",
  "parent_type",
  "parent_session",
  "parent_date",
  "comm_id",
  "summary",
  "size",
  "state",
  "mimes",
  "own",
  "code",
];
const plain = (r: Row) => Object.fromEntries(FIELDS.map((f) => [f, r[f]]));

describe("packed rows", () => {
  const varied = (seq: number): Row =>
    row(seq, {
      msg_id: `id-${seq}-${"x".repeat(seq % 7)}`,
      msg_type: seq % 3 ? "comm_msg" : "status",
      channel: seq % 5 ? "iopub" : "shell",
      t: 1_764_430_000_123.4 + seq / 10,
      date: seq % 2 ? `2026-11-29T15:41:${seq % 60}Z` : "",
      session: `s${seq % 2}`,
      parent_id: seq % 4 ? `p${seq % 3}` : "",
      parent_type: "execute_request",
      parent_session: "ps",
      parent_date: "pd",
      comm_id: seq % 3 ? "c1" : "",
      summary: seq % 11 ? `{"i": ${seq}} é ✓` : "",
      size: seq * 3,
      state: seq % 3 ? "" : "busy",
      mimes: seq % 2 ? ["text/plain", "text/html"] : [],
      own: seq % 9 === 0,
      code: seq % 13 ? "" : "print(1)\n".repeat(seq % 5),
    });

  it("read back every field of every row as given", () => {
    const rows = Array.from({ length: 300 }, (_, i) => varied(i));
    const packed = packRows(rows, new Interner());
    expect(packed.length).toBe(rows.length);
    for (let i = 0; i < rows.length; i++) {
      expect(packed[i]).toBeInstanceOf(PackedRow);
      expect(plain(packed[i])).toEqual(plain(rows[i]));
    }
  });
  it("hold a chunk of rows in a few objects, not one per field", () => {
    const rows = Array.from({ length: CHUNK_ROWS + 10 }, (_, i) => varied(i));
    const packed = packRows(rows, new Interner());
    const chunks = new Set(packed.map((r) => r.chunk));
    expect(chunks.size).toBe(2);
    const [first] = chunks as Set<Chunk>;
    expect(first.n).toBe(CHUNK_ROWS);
    // Repeated strings are stored once per chunk, not once per row.
    expect(first.strs.length).toBeLessThan(20);
    expect(typeof first.text).toBe("string");
    expect(plain(packed[CHUNK_ROWS + 5])).toEqual(plain(rows[CHUNK_ROWS + 5]));
  });
  it("share repeated strings and mime lists between chunks", () => {
    const intern = new Interner();
    const a = packRows([varied(1)], intern)[0];
    const b = packRows([varied(3)], intern)[0];
    expect(a.chunk).not.toBe(b.chunk);
    expect(a.mimes).toBe(b.mimes);
    expect(Object.isFrozen(a.mimes)).toBe(true);
    expect(packRows([varied(2)], intern)[0].mimes).toBe(packRows([varied(4)], intern)[0].mimes);
  });
  it("the interner is bounded", () => {
    const intern = new Interner(10);
    for (let i = 0; i < 100; i++) expect(intern.str(`s${i}`)).toBe(`s${i}`);
    expect(intern.size).toBeLessThanOrEqual(10);
  });
  it("the store keeps packed rows, equal to the rows added", () => {
    const s = new RowStore(1000);
    const rows = Array.from({ length: 50 }, (_, i) => varied(i + 1));
    const res = s.add(rows.slice(25));
    s.add(rows.slice(0, 30)); // late history, overlapping
    expect(res.added.every((r) => r instanceof PackedRow)).toBe(true);
    expect(s.rows.map(plain)).toEqual(rows.map(plain));
    expect(s.has(1)).toBe(true);
    expect(s.has(51)).toBe(false);
  });
});

describe("LruMap", () => {
  it("evicts the least recently used entry", () => {
    const m = new LruMap<number, string>(2);
    m.set(1, "a");
    m.set(2, "b");
    m.get(1);
    m.set(3, "c");
    expect(m.has(1)).toBe(true);
    expect(m.has(2)).toBe(false);
    expect(m.size).toBe(2);
  });
  it("respects a byte budget", () => {
    const m = new LruMap<number, string>(100, 10);
    m.set(1, "a", 6);
    m.set(2, "b", 6);
    expect(m.has(1)).toBe(false);
    expect(m.bytes).toBe(6);
    m.set(3, "c", 50);
    expect(m.size).toBe(1);
    expect(m.has(3)).toBe(true);
  });
});
