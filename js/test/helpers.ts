import type { Row } from "../src/types";

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
