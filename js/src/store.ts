/**
 * The browser's bounded window of Rows: sorted by seq, deduplicated, oldest dropped first.
 *
 * A live stream keeps every row for as long as it is in the window (up to 100,000 of them), so
 * what one row costs the garbage collector is what the page pays again at every collection:
 * rows are stored column-wise in chunks (see `Chunk`), read through `PackedRow`, and
 * duplicates are found by binary search in the sorted rows (no hash set of seqs to grow,
 * rehash and collect).
 */
import type { Row } from "./types";

export const MAX_ROWS = 100_000;

/** Distinct strings an `Interner` holds before it starts over (it only saves memory). */
export const INTERN_MAX = 20_000;

/**
 * One shared copy of each repeated string. A JSON parse gives every row its own copy of its
 * session, parent ids, comm id, ..., strings that are the same for thousands of rows; kept as
 * they are, 100,000 rows hold a million strings, and every minor GC copies the newest of them
 * and every major GC marks and moves them all. Bounded: when full it forgets everything (rows
 * already stored keep their strings; later ones share new copies).
 */
export class Interner {
  private readonly map = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  constructor(readonly max = INTERN_MAX) {}

  get size(): number {
    return this.map.size + this.lists.size;
  }

  str(s: string): string {
    if (s.length === 0) return "";
    const got = this.map.get(s);
    if (got !== undefined) return got;
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(s, s);
    return s;
  }

  /** A frozen shared list with the same items (mime lists repeat: `[]`, `["text/plain"]`). */
  list(xs: readonly string[]): readonly string[] {
    if (xs.length === 0) return EMPTY_LIST;
    const key = xs.join("\u0000");
    const got = this.lists.get(key);
    if (got !== undefined) return got;
    if (this.lists.size >= this.max) this.lists.clear();
    const copy = Object.freeze(xs.map((x) => this.str(x)));
    this.lists.set(key, copy);
    return copy;
  }
}

const EMPTY_LIST: readonly string[] = Object.freeze([]);

/** Fields of a Row that repeat across rows: stored as codes into a chunk's string table. */
const CODED = [
  "msg_type",
  "channel",
  "session",
  "parent_id",
  "parent_type",
  "parent_session",
  "parent_date",
  "comm_id",
  "state",
] as const;
const K = CODED.length;
/** Fields unique to a message: concatenated into one string per chunk. */
const TEXT = ["msg_id", "date", "summary", "code"] as const;
const T = TEXT.length;
/** Rows per chunk at most (a chunk's string codes fit 16 bits). */
export const CHUNK_ROWS = 4096;

/**
 * Up to CHUNK_ROWS rows stored column-wise, as a handful of objects whatever the row count:
 * numbers in a Float64Array, repeated strings as 16-bit codes into a small table of shared
 * (interned) strings, the strings unique to each message in one concatenated string. A 100,000
 * row window is then a few hundred chunks plus one small `PackedRow` per row, instead of a
 * million objects (a parsed row is an object, its boxed `t`, a fresh copy of every string and
 * an array) that every minor GC copies while young and every major GC marks, moves and
 * re-points when old.
 */
export class Chunk {
  readonly n: number;
  /** seq, t, size, own (0/1), per row. */
  readonly num: Float64Array;
  /** CODED fields, per row: indices into `strs`. */
  readonly codes: Uint16Array;
  /** mimes, per row: index into `lists`. */
  readonly mimeCodes: Uint16Array;
  readonly strs: string[] = [];
  readonly lists: (readonly string[])[] = [];
  /** TEXT fields of every row, concatenated; `ends[i * T + f]` is where field f of row i ends. */
  readonly text: string;
  readonly ends: Uint32Array;

  constructor(rows: readonly Row[], intern: Interner) {
    const n = rows.length;
    this.n = n;
    this.num = new Float64Array(n * 4);
    this.codes = new Uint16Array(n * K);
    this.mimeCodes = new Uint16Array(n);
    this.ends = new Uint32Array(n * T);
    const local = new Map<string, number>();
    const localLists = new Map<readonly string[], number>();
    const parts: string[] = [];
    let at = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      this.num[i * 4] = r.seq;
      this.num[i * 4 + 1] = r.t;
      this.num[i * 4 + 2] = r.size;
      this.num[i * 4 + 3] = r.own ? 1 : 0;
      for (let f = 0; f < K; f++) {
        const v = r[CODED[f]];
        let code = local.get(v);
        if (code === undefined) {
          code = this.strs.length;
          this.strs.push(intern.str(v));
          local.set(v, code);
        }
        this.codes[i * K + f] = code;
      }
      const list = intern.list(r.mimes);
      let lc = localLists.get(list);
      if (lc === undefined) {
        lc = this.lists.length;
        this.lists.push(list);
        localLists.set(list, lc);
      }
      this.mimeCodes[i] = lc;
      for (let f = 0; f < T; f++) {
        const v = r[TEXT[f]];
        parts.push(v);
        at += v.length;
        this.ends[i * T + f] = at;
      }
    }
    this.text = parts.join("");
  }

  textAt(i: number, f: number): string {
    const k = i * T + f;
    const end = this.ends[k];
    const start = k === 0 ? 0 : this.ends[k - 1];
    return start === end ? "" : this.text.slice(start, end);
  }

  strAt(i: number, f: number): string {
    return this.strs[this.codes[i * K + f]];
  }
}

/** One row of a Chunk, read through getters: the only per-row object the store keeps. */
export class PackedRow implements Row {
  constructor(
    readonly chunk: Chunk,
    readonly i: number,
  ) {}
  get seq(): number {
    return this.chunk.num[this.i * 4];
  }
  get t(): number {
    return this.chunk.num[this.i * 4 + 1];
  }
  get size(): number {
    return this.chunk.num[this.i * 4 + 2];
  }
  get own(): boolean {
    return this.chunk.num[this.i * 4 + 3] === 1;
  }
  get msg_type(): string {
    return this.chunk.strAt(this.i, 0);
  }
  get channel(): string {
    return this.chunk.strAt(this.i, 1);
  }
  get session(): string {
    return this.chunk.strAt(this.i, 2);
  }
  get parent_id(): string {
    return this.chunk.strAt(this.i, 3);
  }
  get parent_type(): string {
    return this.chunk.strAt(this.i, 4);
  }
  get parent_session(): string {
    return this.chunk.strAt(this.i, 5);
  }
  get parent_date(): string {
    return this.chunk.strAt(this.i, 6);
  }
  get comm_id(): string {
    return this.chunk.strAt(this.i, 7);
  }
  get state(): string {
    return this.chunk.strAt(this.i, 8);
  }
  get mimes(): string[] {
    // Frozen and shared: nothing writes to a row's mimes.
    return this.chunk.lists[this.chunk.mimeCodes[this.i]] as string[];
  }
  get msg_id(): string {
    return this.chunk.textAt(this.i, 0);
  }
  get date(): string {
    return this.chunk.textAt(this.i, 1);
  }
  get summary(): string {
    return this.chunk.textAt(this.i, 2);
  }
  get code(): string {
    return this.chunk.textAt(this.i, 3);
  }
}

/** Rows (ascending seq) stored as packed rows, CHUNK_ROWS per chunk at most. */
export function packRows(rows: readonly Row[], intern: Interner): PackedRow[] {
  const out: PackedRow[] = [];
  for (let s = 0; s < rows.length; s += CHUNK_ROWS) {
    const chunk = new Chunk(rows.slice(s, s + CHUNK_ROWS), intern);
    for (let i = 0; i < chunk.n; i++) out.push(new PackedRow(chunk, i));
  }
  return out;
}

export interface AddResult {
  /** Rows new to the store, in seq order (empty when nothing changed). */
  added: Row[];
  /** True when the new rows were not all after the previous last row (a merge happened). */
  merged: boolean;
  /** How many of the oldest rows were dropped to stay within the bound. */
  dropped: number;
}

export class RowStore {
  /** All rows, ascending seq. Treat as read-only outside this class. */
  rows: Row[] = [];
  private readonly intern = new Interner();

  constructor(readonly maxRows = MAX_ROWS) {}

  get size(): number {
    return this.rows.length;
  }

  get lastSeq(): number {
    return this.rows.length ? this.rows[this.rows.length - 1].seq : -1;
  }

  get firstSeq(): number {
    return this.rows.length ? this.rows[0].seq : -1;
  }

  has(seq: number): boolean {
    const i = lowerBound(this.rows, seq);
    return i < this.rows.length && this.rows[i].seq === seq;
  }

  /**
   * Add a batch (any order, maybe with duplicates of each other or of stored rows). The rows
   * stored (and returned in `added`) are compact copies of the batch's rows.
   */
  add(batch: readonly Row[]): AddResult {
    let fresh: Row[] = [];
    let sorted = true;
    const last = this.lastSeq;
    for (const row of batch) {
      if (fresh.length && row.seq <= fresh[fresh.length - 1].seq) {
        sorted = false;
        fresh.push(row);
      } else if (row.seq > last || !this.has(row.seq)) fresh.push(row);
    }
    if (!sorted) {
      // Out of order (late history, duplicates within the batch): sort, drop duplicates of
      // each other and of stored rows.
      fresh.sort((a, b) => a.seq - b.seq);
      fresh = fresh.filter(
        (r, i) => (i === 0 || fresh[i - 1].seq !== r.seq) && (r.seq > last || !this.has(r.seq)),
      );
    }
    if (!fresh.length) return { added: [], merged: false, dropped: 0 };
    // Rows older than everything a full window holds would be dropped at once: skip them.
    let start = 0;
    if (this.rows.length >= this.maxRows) {
      const first = this.rows[0].seq;
      while (start < fresh.length && fresh[start].seq < first) start++;
    }
    if (start >= fresh.length) return { added: [], merged: false, dropped: 0 };
    const kept: Row[] = packRows(start ? fresh.slice(start) : fresh, this.intern);
    const merged = kept[0].seq < last;
    if (!merged) {
      for (const row of kept) this.rows.push(row);
    } else {
      this.rows = mergeSorted(this.rows, kept);
    }
    let dropped = 0;
    if (this.rows.length > this.maxRows) {
      dropped = this.rows.length - this.maxRows;
      this.rows.splice(0, dropped);
    }
    const first = this.firstSeq;
    const added = dropped && kept[0].seq < first ? kept.filter((r) => r.seq >= first) : kept;
    return { added, merged, dropped };
  }

  clear(): void {
    this.rows = [];
  }
}

function mergeSorted(a: readonly Row[], b: readonly Row[]): Row[] {
  const out: Row[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i].seq <= b[j].seq ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Index of the first row with `seq >= target` in an ascending array (binary search). */
export function lowerBound(rows: readonly { seq: number }[], target: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].seq < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
