/** Which rows the list shows, from the filter traits. */
import { compileQuery, narrowedBy, type Query } from "./query";
import type { Row } from "./types";

export interface Filters {
  types: readonly string[];
  channels: readonly string[];
  /** `to_kernel` / `from_kernel`; empty = both. */
  directions: readonly string[];
  /** Client ids; empty = all. Rows with no client (iopub, which goes to every client) pass. */
  clients: readonly string[];
  /** A query (`query.ts`): free text and `field:value` terms; "" for none. */
  text: string;
  showStatus: boolean;
  /** Only rows that break the messaging spec (a problem count above 0). */
  onlyProblems?: boolean;
  clearedSeq: number;
  /** Also list the monitor's own probe replies (`own` rows); a view-only setting. */
  showOwn?: boolean;
}

export const NO_FILTERS: Filters = {
  types: [],
  channels: [],
  directions: [],
  clients: [],
  text: "",
  showStatus: false,
  onlyProblems: false,
  clearedSeq: -1,
  showOwn: false,
};

export function isMarker(row: Row): boolean {
  return row.channel === "monitor";
}

/** The filter text's query (null: no text). Throws `QueryError` when it is malformed. */
export function textQuery(text: string): Query | null {
  return text.trim() ? compileQuery(text) : null;
}

/**
 * A predicate for the list. Rules: rows with `seq <= clearedSeq` are hidden; `status` rows only
 * with `showStatus` (or when "status" is one of the chosen types); markers (channel `monitor`)
 * ignore the type, direction, client and text filters but follow the channel filter; empty
 * type/channel/direction/client lists mean "all"; a client filter keeps rows without a client
 * (iopub goes to every client); the text is a query (`query.ts`); rows with `own` (replies to
 * the monitor's own probes, and the status rows they cause) only with `showOwn`; with
 * `onlyProblems`, only rows with problems (markers still pass).
 * `jpf_widget.rows.row_filter` is the same predicate. A row whose match turns on a path into
 * the message (`content.data.method:update`) is what `deep` says (Python's answer), or hidden.
 * The text must be a well-formed query (`textQuery` throws otherwise).
 */
export function makePredicate(f: Filters, deep?: (row: Row) => boolean): (row: Row) => boolean {
  const types = f.types.length ? new Set(f.types) : null;
  const channels = f.channels.length ? new Set(f.channels) : null;
  const directions = f.directions.length ? new Set(f.directions) : null;
  const clients = f.clients.length ? new Set(f.clients) : null;
  const query = textQuery(f.text);
  const cleared = f.clearedSeq;
  const showOwn = f.showOwn === true;
  const onlyProblems = f.onlyProblems === true;
  return (row: Row) => {
    if (row.seq <= cleared) return false;
    if (row.own && !showOwn) return false;
    if (channels && !channels.has(row.channel)) return false;
    if (isMarker(row)) return true;
    if (directions && !directions.has(row.direction)) return false;
    if (clients && row.client !== "" && !clients.has(row.client)) return false;
    if (row.msg_type === "status" && !f.showStatus && !types?.has("status")) return false;
    if (types && !types.has(row.msg_type)) return false;
    if (onlyProblems && !((row.problems ?? 0) > 0)) return false;
    if (query) return query.matchRow(row) ?? (deep ? deep(row) : false);
    return true;
  };
}

function sameLists(a: Filters, b: Filters): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    same(a.types, b.types) &&
    same(a.channels, b.channels) &&
    same(a.directions, b.directions) &&
    same(a.clients, b.clients) &&
    a.showStatus === b.showStatus &&
    (a.onlyProblems === true) === (b.onlyProblems === true) &&
    a.clearedSeq === b.clearedSeq &&
    (a.showOwn === true) === (b.showOwn === true)
  );
}

/**
 * True when every row `next` lets through was also let through by `prev`: only the text changed,
 * to a query that only adds terms or types on a free-text one (`narrowedBy`), and none turns on
 * a path (those wait for Python). The list can then be narrowed from the rows it shows instead
 * of filtering the whole window again. Both texts must be well-formed queries.
 */
export function narrows(prev: Filters, next: Filters): boolean {
  if (!sameLists(prev, next)) return false;
  const a = textQuery(prev.text);
  const b = textQuery(next.text);
  if (!b || b.deep) return false;
  return !a || narrowedBy(a, b);
}

/** The same filters (nothing to do). */
export function sameFilters(a: Filters, b: Filters): boolean {
  return sameLists(a, b) && a.text.trim() === b.text.trim();
}
