/**
 * Threaded mode: rows nested under the request they answer (their parent_header), comm traffic
 * grouped by comm_id, markers and parentless rows on their own. A request whose own frames were
 * never seen (another client's) becomes a placeholder rebuilt from its children's parent_* fields.
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
  /** The request's own row, when it was captured. */
  head: Row | null;
  /** The request rebuilt from parent headers, when its own row was not captured. */
  placeholder: Placeholder | null;
  /** Code of the thread's execute_input, if any. */
  code: string;
  /** The comm's target (from a comm_open summary), if any. */
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

function isComm(row: Row): boolean {
  return row.msg_type.startsWith("comm_") && row.comm_id !== "";
}

/** The thread a row belongs to. */
export function threadKeyOf(row: Row): string {
  if (isMarker(row)) return `s:${row.seq}`;
  if (isComm(row)) return `c:${row.comm_id}`;
  if (row.parent_id) return `p:${row.parent_id}`;
  return `s:${row.seq}`;
}

/**
 * Build threads from rows in ascending seq. `include` decides which rows are listed; all rows
 * (also hidden status rows) count toward busy time and placeholders. Threads with no listed
 * row and no captured head are left out. Iterative, O(rows).
 */
export function buildThreads(rows: readonly Row[], include: (row: Row) => boolean): Thread[] {
  const parentIds = new Set<string>();
  for (const row of rows) if (row.parent_id && !isMarker(row)) parentIds.add(row.parent_id);

  const threads = new Map<string, Thread>();
  const open = new Map<string, number>();
  const get = (key: string, row: Row): Thread => {
    let th = threads.get(key);
    if (!th) {
      const kind = key[0] === "p" ? "request" : key[0] === "c" ? "comm" : "single";
      th = {
        key,
        kind,
        parentId: kind === "request" ? key.slice(2) : "",
        commId: kind === "comm" ? key.slice(2) : "",
        head: null,
        placeholder: null,
        code: "",
        target: "",
        rows: [],
        busyMs: null,
        busyOpen: false,
        firstSeq: row.seq,
        firstT: row.t,
      };
      threads.set(key, th);
    }
    return th;
  };

  for (const row of rows) {
    if (!isMarker(row) && row.msg_id && parentIds.has(row.msg_id)) {
      const th = get(`p:${row.msg_id}`, row);
      th.head = row;
      if (row.seq < th.firstSeq) th.firstSeq = row.seq;
      continue;
    }
    const th = get(threadKeyOf(row), row);
    if (th.kind === "request") {
      if (!th.placeholder && row.parent_type) {
        th.placeholder = {
          msg_type: row.parent_type,
          session: row.parent_session,
          date: row.parent_date,
        };
      }
      if (row.msg_type === "execute_input" && !th.code) th.code = row.code;
      if (row.msg_type === "status") {
        if (row.state === "busy") {
          if (!open.has(th.key)) open.set(th.key, row.t);
        } else if (row.state === "idle") {
          const start = open.get(th.key);
          if (start !== undefined) {
            th.busyMs = (th.busyMs ?? 0) + Math.max(0, row.t - start);
            open.delete(th.key);
          }
        }
      }
    } else if (th.kind === "comm" && row.msg_type === "comm_open" && !th.target) {
      th.target = row.summary;
    }
    if (include(row)) th.rows.push(row);
  }
  for (const key of open.keys()) {
    const th = threads.get(key);
    if (th) th.busyOpen = true;
  }
  const out: Thread[] = [];
  for (const th of threads.values()) {
    if (th.head) th.placeholder = null;
    if (th.rows.length || (th.head && include(th.head))) out.push(th);
  }
  out.sort((a, b) => a.firstSeq - b.firstSeq);
  return out;
}

/** The visible lines: a header per request/comm thread, then its rows unless collapsed. */
export function flattenThreads(threads: readonly Thread[], collapsed: ReadonlySet<string>): Line[] {
  const lines: Line[] = [];
  for (const th of threads) {
    if (th.kind === "single") {
      for (const row of th.rows) lines.push({ kind: "row", key: `r:${row.seq}`, row, thread: th, depth: 0 });
      continue;
    }
    lines.push({ kind: "thread", key: th.key, thread: th });
    if (collapsed.has(th.key)) continue;
    for (const row of th.rows) lines.push({ kind: "row", key: `r:${row.seq}`, row, thread: th, depth: 1 });
  }
  return lines;
}
