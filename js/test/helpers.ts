import type { Model, Row } from "../src/types";

export function row(seq: number, over: Partial<Row> = {}): Row {
  return {
    seq,
    msg_id: `m${seq}`,
    msg_type: "stream",
    channel: "iopub",
    direction: "from_kernel",
    client: "",
    t: 1_764_430_000_000 + seq,
    date: "",
    session: "s1",
    parent_id: "",
    parent_type: "",
    parent_session: "",
    parent_date: "",
    comm_id: "",
    summary: `row ${seq}`,
    size: 100,
    state: "",
    mimes: [],
    own: false,
    code: "",
    ...over,
  };
}

type Cb = (...args: unknown[]) => void;

/** A model as anywidget gives one, in memory: its traits, what the view sent, and ways to talk to it. */
export function fakeModel(traits: Record<string, unknown> = {}) {
  const state: Record<string, unknown> = {
    status: "connected",
    status_detail: "",
    kernel_id: "1b2c3d4e-aaaa",
    connection: {},
    kernel_info: null,
    counters: {},
    view: "rendered",
    filter_types: [],
    filter_channels: [],
    filter_text: "",
    show_status: false,
    paused: false,
    cleared_seq: -1,
    ...traits,
  };
  const handlers = new Map<string, Set<Cb>>();
  const sent: Record<string, unknown>[] = [];
  const emit = (e: string, ...a: unknown[]) => {
    for (const cb of handlers.get(e) ?? []) cb(...a);
  };
  const model: Model = {
    get: (k) => state[k],
    set: (k, v) => {
      state[k] = v;
      emit(`change:${k}`);
    },
    save_changes: () => {},
    on: (e, cb) => {
      if (!handlers.has(e)) handlers.set(e, new Set());
      handlers.get(e)?.add(cb as Cb);
    },
    off: (e, cb) => {
      if (e && cb) handlers.get(e)?.delete(cb as Cb);
    },
    send: (c) => {
      sent.push(c as Record<string, unknown>);
    },
  };
  const listeners = () => [...handlers.values()].reduce((n, s) => n + s.size, 0);
  const custom = (content: unknown, json: unknown) =>
    emit("msg:custom", content, [
      new DataView(new TextEncoder().encode(JSON.stringify(json)).buffer),
    ]);
  return { model, state, sent, emit, custom, listeners };
}
