/**
 * Threaded mode: rows nested under the request they answer (their parent_header), comm traffic
 * grouped by comm_id, markers and parentless rows on their own. A request whose own frames were
 * never seen (another client's, without a tap) becomes a placeholder rebuilt from its children's
 * parent_* fields; a captured request (through a tap) heads its thread, whether it arrives before
 * or after its children, with its reply (`*_reply` whose parent is the request) and the time
 * between them. A row whose parent is something the kernel sent a client inside a thread (an
 * `input_reply` to an `input_request`) joins that thread.
 *
 * `ThreadIndex` is built incrementally (rows are added in seq order, the oldest can be dropped),
 * so a live stream costs O(new rows), not O(all rows). `ThreadLines` maps the visible threads to
 * list lines (a header per request/comm thread, then its rows) without materializing them.
 */
import { isMarker } from "./filter";
import type { Row } from "./types";

export interface Placeholder {
  msg_type: string;
  session: string;
  date: string;
}

export interface Thread {
  /** `p:<parent msg_id>`, `c:<comm_id>` or `s:<seq>` (a row on its own). */
  key: string;
  kind: "request" | "comm" | "single";
  parentId: string;
  commId: string;
  /** The request's own row, when it was captured (then no placeholder is shown). */
  head: Row | null;
  /** The request's reply (a `*_reply` row whose parent is the request), when captured. */
  reply: Row | null;
  /** The request rebuilt from parent headers (its children's parent_* fields). */
  placeholder: Placeholder | null;
  /** Code of the thread's execute_input, if any. */
  code: string;
  /** The comm's target name (the first word of a comm_open summary), if any. */
  target: string;
  /** Member rows that pass the filter, ascending seq. */
  rows: Row[];
  /** Total ms the kernel was busy on this request (status busy -> idle with this parent). */
  busyMs: number | null;
  /** A busy with no idle yet. */
  busyOpen: boolean;
  firstSeq: number;
  firstT: number;
}

export type Line =
  | { kind: "thread"; key: string; thread: Thread }
  | { kind: "row"; key: string; row: Row; thread: Thread; depth: number };

/** A reply's status (`ok`, `error`, `abort`/`aborted`): the row's `state`, else what its summary
 * says, or "" (unknown). */
export function replyStatus(reply: Row): string {
  if (reply.state) return reply.state;
  const m = /^\s*(?:status:\s*)?(ok|error|aborted|abort)\b/i.exec(reply.summary);
  return m ? m[1].toLowerCase() : "";
}

/** A request's reply: a `*_reply` row naming it as parent. */
function isReplyTo(row: Row, parentId: string): boolean {
  return row.parent_id === parentId && row.msg_type.endsWith("_reply");
}

function isComm(row: Row): boolean {
  return row.msg_type.startsWith("comm_") && row.comm_id !== "";
}

/**
 * The comm target name from a comm_open row's summary (`"<target_name> <short comm id>"`): its
 * first word, so the comm id is not shown twice next to the thread's own short id.
 */
export function commTarget(summary: string): string {
  return summary.trim().split(/\s+/, 1)[0] ?? "";
}

/** The thread a row belongs to (before head promotion). */
export function threadKeyOf(row: Row): string {
  if (isMarker(row)) return `s:${row.seq}`;
  if (isComm(row)) return `c:${row.comm_id}`;
  if (row.parent_id) return `p:${row.parent_id}`;
  return `s:${row.seq}`;
}

function newThread(key: string, row: Row): Thread {
  const kind = key[0] === "p" ? "request" : key[0] === "c" ? "comm" : "single";
  return {
    key,
    kind,
    parentId: kind === "request" ? key.slice(2) : "",
    commId: kind === "comm" ? key.slice(2) : "",
    head: null,
    reply: null,
    placeholder: null,
    code: "",
    target: "",
    rows: [],
    busyMs: null,
    busyOpen: false,
    firstSeq: row.seq,
    firstT: row.t,
  };
}

export class ThreadIndex {
  readonly threads = new Map<string, Thread>();
  /** Threads in order of their first row. */
  order: Thread[] = [];
  private readonly busySince = new Map<string, number>();
  /** Parentless single rows by msg_id: they become a thread's head if a reply names them. */
  private readonly singles = new Map<string, Thread>();
  /**
   * What the kernel sent a client inside a request thread (an `input_request`, a reply), by
   * msg_id: a later row naming one as parent (an `input_reply`) joins that thread.
   */
  private readonly members = new Map<string, { th: Thread; seq: number }>();
  private lastSeq = Number.NEGATIVE_INFINITY;
  /** Bumped whenever threads or their rows change. */
  version = 0;

  constructor(readonly include: (row: Row) => boolean) {}

  /** Add rows in ascending seq (rows not after the last one added are ignored). */
  addAll(rows: readonly Row[]): void {
    for (const row of rows) this.add(row);
  }

  add(row: Row): void {
    if (row.seq <= this.lastSeq) return;
    this.lastSeq = row.seq;
    this.version++;
    const marker = isMarker(row);
    // A request that arrives after its children takes its placeholder's place (comm traffic
    // stays in its comm's thread).
    if (!marker && row.msg_id && !isComm(row)) {
      const req = this.threads.get(`p:${row.msg_id}`);
      if (req && !req.head) {
        req.head = row;
        req.placeholder = null;
        return;
      }
    }
    const key = threadKeyOf(row);
    let th = this.threads.get(key) ?? this.memberThread(key);
    if (!th) {
      const single = key[0] === "p" ? this.singles.get(key.slice(2)) : undefined;
      if (single) {
        // A reply names an earlier parentless row: that row is the request, heading this thread.
        this.threads.delete(single.key);
        this.singles.delete(key.slice(2));
        single.head = single.rows[0] ?? null;
        single.placeholder = null;
        single.rows = [];
        single.key = key;
        single.kind = "request";
        single.parentId = key.slice(2);
        th = single;
      } else {
        th = newThread(key, row);
        this.order.push(th);
        if (th.kind === "single" && !marker && row.msg_id) this.singles.set(row.msg_id, th);
      }
      this.threads.set(key, th);
    }
    if (th.kind === "request") {
      if (!th.reply && isReplyTo(row, th.parentId)) th.reply = row;
      if (
        row.channel !== "iopub" &&
        row.direction === "from_kernel" &&
        row.msg_id &&
        !this.threads.has(`p:${row.msg_id}`)
      )
        this.members.set(row.msg_id, { th, seq: row.seq });
      if (!th.placeholder && !th.head && row.parent_type) {
        th.placeholder = {
          msg_type: row.parent_type,
          session: row.parent_session,
          date: row.parent_date,
        };
      }
      if (row.msg_type === "execute_input" && !th.code) th.code = row.code;
      if (row.msg_type === "status") {
        if (row.state === "busy") {
          if (!this.busySince.has(th.key)) this.busySince.set(th.key, row.t);
          th.busyOpen = true;
        } else if (row.state === "idle") {
          const start = this.busySince.get(th.key);
          if (start !== undefined) {
            th.busyMs = (th.busyMs ?? 0) + Math.max(0, row.t - start);
            this.busySince.delete(th.key);
            th.busyOpen = false;
          }
        }
      }
    } else if (th.kind === "comm" && row.msg_type === "comm_open" && !th.target) {
      th.target = commTarget(row.summary);
    }
    if (th.kind === "single" || this.include(row)) th.rows.push(row);
  }

  /** Forget rows with seq < `seq` (the oldest, dropped from the window). */
  dropBefore(seq: number): void {
    let emptied = false;
    for (const th of this.order) {
      if (th.firstSeq >= seq) break;
      let k = 0;
      while (k < th.rows.length && th.rows[k].seq < seq) k++;
      if (th.kind === "single" && k) {
        const id = th.rows[0].msg_id;
        if (this.singles.get(id) === th) this.singles.delete(id);
      }
      if (k) th.rows.splice(0, k);
      if (th.head && th.head.seq < seq) th.head = null;
      if (th.reply && th.reply.seq < seq) th.reply = null;
      if (!th.rows.length && !th.head && !this.busySince.has(th.key)) {
        this.threads.delete(th.key);
        emptied = true;
      }
    }
    // Members were added in seq order: the dropped ones come first.
    for (const [id, m] of this.members) {
      if (m.seq >= seq) break;
      this.members.delete(id);
    }
    if (emptied) {
      this.order = this.order.filter((th) => this.threads.get(th.key) === th);
      this.version++;
    }
  }

  /** The thread holding a row (as a member or as its head). */
  threadOf(row: Row): Thread | undefined {
    const asHead = row.msg_id ? this.threads.get(`p:${row.msg_id}`) : undefined;
    if (asHead?.head === row) return asHead;
    const key = threadKeyOf(row);
    return this.threads.get(key) ?? this.memberThread(key);
  }

  /** The thread of a captured member a `p:` key names as parent (an input_reply's input_request). */
  private memberThread(key: string): Thread | undefined {
    if (key[0] !== "p") return undefined;
    const m = this.members.get(key.slice(2));
    return m && this.threads.get(m.th.key) === m.th ? m.th : undefined;
  }

  /** Threads with something to list, in order. */
  visible(): Thread[] {
    return this.order.filter((th) =>
      th.kind === "single"
        ? th.rows.length > 0 && this.include(th.rows[0])
        : th.rows.length > 0 || (th.head !== null && this.include(th.head)),
    );
  }
}

/**
 * Build threads from rows in ascending seq. `include` decides which rows are listed; all rows
 * (also hidden status rows) count toward busy time and placeholders. Threads with no listed
 * row and no captured head are left out. Iterative, O(rows).
 */
export function buildThreads(rows: readonly Row[], include: (row: Row) => boolean): Thread[] {
  const ix = new ThreadIndex(include);
  ix.addAll(rows);
  return ix.visible();
}

/** The list lines of some threads, computed on demand (prefix sums over line counts). */
export class ThreadLines {
  private readonly starts: number[] = [];
  private readonly pos = new Map<string, number>();
  readonly count: number;

  constructor(
    readonly threads: readonly Thread[],
    readonly collapsed: ReadonlySet<string>,
  ) {
    let n = 0;
    threads.forEach((th, i) => {
      this.starts.push(n);
      this.pos.set(th.key, i);
      n += this.linesOf(th);
    });
    this.count = n;
  }

  private linesOf(th: Thread): number {
    if (th.kind === "single") return th.rows.length;
    return 1 + (this.collapsed.has(th.key) ? 0 : th.rows.length);
  }

  private threadIndexAt(i: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  at(i: number): Line | undefined {
    if (i < 0 || i >= this.count) return undefined;
    const t = this.threadIndexAt(i);
    const th = this.threads[t];
    const off = i - this.starts[t];
    if (th.kind === "single") {
      const row = th.rows[off];
      return { kind: "row", key: `r:${row.seq}`, row, thread: th, depth: 0 };
    }
    if (off === 0) return { kind: "thread", key: th.key, thread: th };
    const row = th.rows[off - 1];
    return { kind: "row", key: `r:${row.seq}`, row, thread: th, depth: 1 };
  }

  /** Index of a thread's header line (or of its first row, for a single), or -1. */
  indexOfThread(key: string): number {
    const t = this.pos.get(key);
    return t === undefined ? -1 : this.starts[t];
  }

  /** Index of a row's line inside its thread, or -1 (not listed or collapsed). */
  indexOfRow(th: Thread, seq: number): number {
    const t = this.pos.get(th.key);
    if (t === undefined) return -1;
    if (th.kind !== "single" && this.collapsed.has(th.key)) return -1;
    let lo = 0;
    let hi = th.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (th.rows[mid].seq < seq) lo = mid + 1;
      else hi = mid;
    }
    if (th.rows[lo]?.seq !== seq) return -1;
    return this.starts[t] + (th.kind === "single" ? 0 : 1) + lo;
  }

  /** All lines (for tests and small inputs). */
  all(): Line[] {
    const out: Line[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.at(i) as Line);
    return out;
  }

  /** Number of row lines (not headers). */
  rowCount(): number {
    let n = 0;
    for (const th of this.threads) n += th.rows.length;
    return n;
  }
}
