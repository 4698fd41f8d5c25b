/** Which rows the list shows, from the filter traits. */
import type { Row } from "./types";

export interface Filters {
  types: readonly string[];
  channels: readonly string[];
  text: string;
  showStatus: boolean;
  clearedSeq: number;
  /** Also list the monitor's own probe replies (`own` rows); a view-only setting. */
  showOwn?: boolean;
}

export const NO_FILTERS: Filters = {
  types: [],
  channels: [],
  text: "",
  showStatus: false,
  clearedSeq: -1,
  showOwn: false,
};

export function isMarker(row: Row): boolean {
  return row.channel === "monitor";
}

/**
 * A predicate for the list. Rules: rows with `seq <= clearedSeq` are hidden; `status` rows only
 * with `showStatus` (or when "status" is one of the chosen types); markers (channel `monitor`) ignore the type and text filters but follow the
 * channel filter; empty type/channel lists mean "all"; text matches summary, msg_type, msg_id
 * and comm_id, case-insensitively; rows with `own` (replies to the monitor's own probes, and
 * the status rows they cause) only with `showOwn`.
 */
export function makePredicate(f: Filters): (row: Row) => boolean {
  const types = f.types.length ? new Set(f.types) : null;
  const channels = f.channels.length ? new Set(f.channels) : null;
  const text = f.text.trim().toLowerCase();
  const cleared = f.clearedSeq;
  const showOwn = f.showOwn === true;
  return (row: Row) => {
    if (row.seq <= cleared) return false;
    if (row.own && !showOwn) return false;
    if (channels && !channels.has(row.channel)) return false;
    if (isMarker(row)) return true;
    if (row.msg_type === "status" && !f.showStatus && !types?.has("status")) return false;
    if (types && !types.has(row.msg_type)) return false;
    if (text) {
      return (
        row.summary.toLowerCase().includes(text) ||
        row.msg_type.toLowerCase().includes(text) ||
        row.msg_id.toLowerCase().includes(text) ||
        row.comm_id.toLowerCase().includes(text)
      );
    }
    return true;
  };
}
