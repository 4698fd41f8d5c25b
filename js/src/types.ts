/** Shapes shared with Python (see ../README.md, "The contract with Python"). */

/** One captured message, small. */
export interface Row {
  seq: number;
  msg_id: string;
  msg_type: string;
  /** `iopub`, `shell`, `control`, `stdin`, or `monitor` (a marker made by jpf_widget). */
  channel: string;
  /** `from_kernel` or `to_kernel` ("" on markers). */
  direction: string;
  /** Short stable id of the client a shell/control/stdin message came from or went to; "" on iopub and when unknown. */
  client: string;
  /** Local receive time, ms since the epoch. */
  t: number;
  date: string;
  session: string;
  parent_id: string;
  parent_type: string;
  parent_session: string;
  parent_date: string;
  comm_id: string;
  summary: string;
  size: number;
  state: string;
  mimes: string[];
  own: boolean;
  code: string;
  /** How many rules of the messaging spec the message breaks (absent: none known). */
  problems?: number;
}

/** A rule of the messaging spec a message breaks (jpf_widget.lint). */
export interface Problem {
  rule: string;
  severity: "error" | "warning";
  message: string;
  /** Where in the message, e.g. `content.status`; "" for the message as a whole. */
  path: string;
  /** The spec's section. */
  link: string;
}

/** A message's full frames, asked for on demand. */
export interface Body {
  seq: number;
  header: Record<string, unknown>;
  parent_header: Record<string, unknown>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: number[];
  truncated: boolean;
  /** What the message breaks of the messaging spec (absent: none known). */
  problems?: Problem[];
}

export interface Counters {
  captured?: number;
  lost?: number;
  loss_detection?: string;
  evicted?: number;
  bad_signature?: number;
  malformed?: number;
  tap_dropped_frames?: number;
  restarts?: number;
  bytes?: number;
  by_type?: Record<string, number>;
  by_channel?: Record<string, number>;
}

export type ViewMode = "rendered" | "raw" | "threaded";

export const VIEW_MODES: readonly ViewMode[] = ["rendered", "raw", "threaded"];

/** The subset of the anywidget model the view uses. */
export interface Model {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  save_changes(): void;
  // biome-ignore lint/suspicious/noExplicitAny: anywidget callbacks take various arguments
  on(event: string, cb: (...args: any[]) => void): void;
  // biome-ignore lint/suspicious/noExplicitAny: anywidget callbacks take various arguments
  off(event?: string | null, cb?: ((...args: any[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: unknown[]): void;
}
