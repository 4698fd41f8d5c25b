/** Decoding of Python -> browser custom messages and building of browser -> Python requests. */
import type { Body, Problem, Row } from "./types";

/** Bytes of one anywidget buffer (DataView, typed array or ArrayBuffer). */
export function bufferBytes(buf: unknown): Uint8Array | null {
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return null;
}

const decoder = new TextDecoder("utf-8");

/** Parse the JSON text in `buffers[0]`; `undefined` when absent or not JSON. */
export function decodeJsonBuffer(buffers: unknown): unknown {
  if (!Array.isArray(buffers) || buffers.length === 0) return undefined;
  const bytes = bufferBytes(buffers[0]);
  if (!bytes) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}

const ROW_STRINGS = [
  "msg_id",
  "msg_type",
  "channel",
  "direction",
  "client",
  "date",
  "session",
  "parent_id",
  "parent_type",
  "parent_session",
  "parent_date",
  "comm_id",
  "summary",
  "state",
  "code",
] as const;

/** No fields to fix: the parsed object can be kept as it is (no copy, less garbage). */
function wellFormed(r: Record<string, unknown>): boolean {
  if (typeof r.seq !== "number" || !Number.isFinite(r.seq)) return false;
  if (typeof r.t !== "number" || !Number.isFinite(r.t)) return false;
  if (typeof r.size !== "number" || !Number.isFinite(r.size)) return false;
  if (typeof r.own !== "boolean" || !r.msg_type) return false;
  if (r.problems !== undefined && typeof r.problems !== "number") return false;
  for (const k of ROW_STRINGS) if (typeof r[k] !== "string") return false;
  const m = r.mimes;
  if (!Array.isArray(m)) return false;
  for (const x of m) if (typeof x !== "string") return false;
  return true;
}

/** Lenient Row from whatever Python sent; `null` when it has no usable seq. */
export function toRow(raw: unknown): Row | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Record<string, unknown>;
  if (wellFormed(r)) return r as unknown as Row;
  const seq = Number(r.seq);
  if (!Number.isFinite(seq)) return null;
  const channel = str(r.channel);
  return {
    seq,
    msg_id: str(r.msg_id),
    msg_type: str(r.msg_type) || "unknown",
    channel,
    // Python's default: a message without a direction came from the kernel (markers have none).
    direction: str(r.direction) || (channel === "monitor" ? "" : "from_kernel"),
    client: str(r.client),
    t: Number(r.t) || 0,
    date: str(r.date),
    session: str(r.session),
    parent_id: str(r.parent_id),
    parent_type: str(r.parent_type),
    parent_session: str(r.parent_session),
    parent_date: str(r.parent_date),
    comm_id: str(r.comm_id),
    summary: str(r.summary),
    size: Number(r.size) || 0,
    state: str(r.state),
    mimes: Array.isArray(r.mimes) ? r.mimes.map(str) : [],
    own: r.own === true,
    code: str(r.code),
    problems: Number(r.problems) || 0,
  };
}

export function toRows(raw: unknown): Row[] {
  if (!Array.isArray(raw)) return [];
  const out: Row[] = [];
  for (const item of raw) {
    const row = toRow(item);
    if (row) out.push(row);
  }
  return out;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The problems Python listed for a body; anything malformed is left out. */
function toProblems(raw: unknown): Problem[] {
  if (!Array.isArray(raw)) return [];
  const out: Problem[] = [];
  for (const item of raw) {
    if (!item || typeof item !== "object") continue;
    const p = item as Record<string, unknown>;
    out.push({
      rule: str(p.rule),
      severity: p.severity === "warning" ? "warning" : "error",
      message: str(p.message),
      path: str(p.path),
      link: str(p.link),
    });
  }
  return out;
}

export function toBodies(raw: unknown): Body[] {
  if (!Array.isArray(raw)) return [];
  const out: Body[] = [];
  for (const item of raw) {
    if (!item || typeof item !== "object") continue;
    const b = item as Record<string, unknown>;
    const seq = Number(b.seq);
    if (!Number.isFinite(seq)) continue;
    out.push({
      seq,
      header: obj(b.header),
      parent_header: obj(b.parent_header),
      metadata: obj(b.metadata),
      content: obj(b.content),
      buffers: Array.isArray(b.buffers) ? b.buffers.map(Number) : [],
      truncated: b.truncated === true,
      problems: toProblems(b.problems),
    });
  }
  return out;
}

/** The little-endian float64 numbers in `buffers[0]` (seqs: exact up to 2^53). */
function float64s(buffers: unknown): number[] {
  const bytes = Array.isArray(buffers) && buffers.length ? bufferBytes(buffers[0]) : null;
  if (!bytes) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 8 <= bytes.byteLength; i += 8) out.push(view.getFloat64(i, true));
  return out;
}

export type Incoming =
  | { kind: "rows"; rows: Row[] }
  | { kind: "problems"; counts: Map<number, number> }
  | { kind: "history"; id: number; total: number; rows: Row[] }
  | { kind: "older"; id: number; next: number; done: boolean; rows: Row[] }
  | { kind: "bodies"; id: number; bodies: Body[] }
  | { kind: "match"; id: number; query: string; seqs: number[] }
  | { kind: "export"; id: number; name: string; messages: number; bytes: Uint8Array }
  | { kind: "diagram"; id: number; text: string }
  | { kind: "error"; id: number; message: string }
  | { kind: "refreshed"; id: number }
  | { kind: "attached"; id: number }
  | { kind: "unknown" };

/** Decode one custom message from Python. */
export function decodeMessage(content: unknown, buffers: unknown): Incoming {
  const c = obj(content);
  switch (c.kind) {
    case "rows":
      return { kind: "rows", rows: toRows(decodeJsonBuffer(buffers)) };
    case "problems": {
      // what the linter found in rows sent before it reached them; anything malformed is left out
      const seqs = Array.isArray(c.seqs) ? c.seqs : [];
      const counts = Array.isArray(c.counts) ? c.counts : [];
      const found = new Map<number, number>();
      seqs.forEach((seq, i) => {
        const n = counts[i];
        if (Number.isInteger(seq) && Number.isInteger(n) && n >= 0) found.set(seq, n);
      });
      return { kind: "problems", counts: found };
    }
    case "history":
      return {
        kind: "history",
        id: Number(c.id),
        total: Number(c.total) || 0,
        rows: toRows(decodeJsonBuffer(buffers)),
      };
    case "older": {
      const next = Number(c.next);
      return {
        kind: "older",
        id: Number(c.id),
        next: Number.isFinite(next) ? next : -1,
        // Without a usable cursor there is nothing more to ask for.
        done: c.done === true || !Number.isFinite(next),
        rows: toRows(decodeJsonBuffer(buffers)),
      };
    }
    case "bodies":
      return { kind: "bodies", id: Number(c.id), bodies: toBodies(decodeJsonBuffer(buffers)) };
    case "match":
      return { kind: "match", id: Number(c.id), query: str(c.query), seqs: float64s(buffers) };
    case "export": {
      const bytes = Array.isArray(buffers) && buffers.length ? bufferBytes(buffers[0]) : null;
      return {
        kind: "export",
        id: Number(c.id),
        name: str(c.name) || "trace.jsonl",
        messages: Number(c.messages) || 0,
        bytes: bytes ?? new Uint8Array(0),
      };
    }
    case "diagram": {
      const bytes = Array.isArray(buffers) && buffers.length ? bufferBytes(buffers[0]) : null;
      return { kind: "diagram", id: Number(c.id), text: bytes ? decoder.decode(bytes) : "" };
    }
    case "error":
      return { kind: "error", id: Number(c.id), message: str(c.message) };
    case "refreshed":
    case "attached":
      return { kind: c.kind, id: Number(c.id) };
    default:
      return { kind: "unknown" };
  }
}
