import { describe, expect, it } from "vitest";
import { makePredicate, NO_FILTERS } from "../src/filter";
import { laneSegments } from "../src/lane";
import { buildThreads, commTarget, replyStatus, ThreadIndex, ThreadLines } from "../src/threads";
import { row } from "./helpers";

const exec = {
  parent_id: "req1",
  parent_type: "execute_request",
  parent_session: "sessA",
  parent_date: "2026-11-29T15:00:00Z",
};

const rows = [
  row(1, { msg_type: "status", state: "busy", t: 1000, ...exec }),
  row(2, { msg_type: "execute_input", code: "print('hi')\n1+1", summary: "print('hi')", ...exec }),
  row(3, { msg_type: "stream", ...exec }),
  row(4, { msg_type: "execute_result", mimes: ["text/plain"], ...exec }),
  row(5, { msg_type: "status", state: "idle", t: 1250, ...exec }),
  row(6, {
    msg_type: "comm_open",
    comm_id: "c1",
    summary: "jupyter.widget",
    parent_id: "req2",
    parent_type: "execute_request",
  }),
  row(7, { msg_type: "restart", channel: "monitor", summary: "kernel restarted" }),
  row(8, { msg_type: "comm_msg", comm_id: "c1", parent_id: "req3" }),
  row(9, {
    msg_type: "status",
    state: "busy",
    t: 2000,
    parent_id: "req4",
    parent_type: "kernel_info_request",
  }),
  row(10, { msg_type: "stream", parent_id: "req4", parent_type: "kernel_info_request" }),
];

describe("buildThreads", () => {
  const threads = buildThreads(rows, makePredicate(NO_FILTERS));

  it("groups by parent and by comm id, in order of first appearance", () => {
    expect(threads.map((t) => t.key)).toEqual(["p:req1", "c:c1", "s:7", "p:req4"]);
    expect(threads[0].rows.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect(threads[1].rows.map((r) => r.seq)).toEqual([6, 8]);
    expect(threads[1].target).toBe("jupyter.widget");
  });
  it("builds placeholders from parent fields and keeps the execute_input code", () => {
    expect(threads[0].head).toBeNull();
    expect(threads[0].placeholder).toEqual({
      msg_type: "execute_request",
      session: "sessA",
      date: "2026-11-29T15:00:00Z",
    });
    expect(threads[0].code).toBe("print('hi')\n1+1");
  });
  it("measures busy time from status rows, even hidden ones", () => {
    expect(threads[0].busyMs).toBe(250);
    expect(threads[0].busyOpen).toBe(false);
    expect(threads[3].busyMs).toBeNull();
    expect(threads[3].busyOpen).toBe(true);
  });
  it("uses a captured request as the head instead of a placeholder", () => {
    const own = row(0, { msg_id: "req1", msg_type: "kernel_info_request", channel: "shell" });
    const th = buildThreads([own, ...rows], makePredicate(NO_FILTERS));
    expect(th[0].head?.seq).toBe(0);
    expect(th[0].placeholder).toBeNull();
  });
  it("leaves out threads with nothing to list", () => {
    const only = buildThreads([rows[0], rows[4]], makePredicate(NO_FILTERS));
    expect(only).toEqual([]);
  });
  it("flattens to lines and honours collapsed threads", () => {
    const lines = new ThreadLines(threads, new Set(["c:c1"])).all();
    expect(lines.map((l) => l.key)).toEqual([
      "p:req1",
      "r:2",
      "r:3",
      "r:4",
      "c:c1",
      "r:7",
      "p:req4",
      "r:10",
    ]);
  });
  it("handles 100,000 rows quickly without recursion", () => {
    const many = Array.from({ length: 100_000 }, (_, i) =>
      row(i, { parent_id: `p${Math.floor(i / 10)}`, parent_type: "execute_request" }),
    );
    const t0 = performance.now();
    const th = buildThreads(many, makePredicate(NO_FILTERS));
    const lines = new ThreadLines(th, new Set());
    expect(th.length).toBe(10_000);
    expect(lines.count).toBe(110_000);
    expect(lines.at(11)?.key).toBe("p:p1");
    expect(lines.at(12)?.key).toBe("r:10");
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("ThreadIndex (incremental)", () => {
  it("matches a batch build when rows arrive one by one", () => {
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    for (const r of rows) ix.add(r);
    expect(ix.visible().map((t) => [t.key, t.rows.length, t.busyMs])).toEqual(
      buildThreads(rows, makePredicate(NO_FILTERS)).map((t) => [t.key, t.rows.length, t.busyMs]),
    );
  });
  it("promotes a parentless row to head when a reply names it, keeping its place", () => {
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    ix.add(row(1, { msg_id: "q", msg_type: "kernel_info_request", channel: "shell" }));
    ix.add(row(2, { msg_type: "stream" }));
    ix.add(
      row(3, {
        msg_type: "kernel_info_reply",
        channel: "shell",
        parent_id: "q",
        parent_type: "kernel_info_request",
      }),
    );
    const v = ix.visible();
    expect(v.map((t) => t.key)).toEqual(["p:q", "s:2"]);
    expect(v[0].head?.seq).toBe(1);
    expect(v[0].rows.map((r) => r.seq)).toEqual([3]);
    expect(ix.threadOf(v[0].head as never)?.key).toBe("p:q");
  });
  it("drops the oldest rows and empty threads", () => {
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    ix.addAll(rows);
    ix.dropBefore(4);
    const v = ix.visible();
    expect(v.map((t) => t.key)).toEqual(["p:req1", "c:c1", "s:7", "p:req4"]);
    expect(v[0].rows.map((r) => r.seq)).toEqual([4]);
    ix.dropBefore(7);
    expect(ix.visible().map((t) => t.key)).toEqual(["c:c1", "s:7", "p:req4"]);
    const lines = new ThreadLines(ix.visible(), new Set());
    expect(lines.indexOfRow(ix.visible()[2], 10)).toBe(4);
    expect(lines.indexOfThread("p:req4")).toBe(3);
  });
  it("costs little per added row", () => {
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      ix.add(row(i, { parent_id: `p${Math.floor(i / 10)}`, parent_type: "execute_request" }));
      if (i % 250 === 249 && i > 50_000) ix.dropBefore(i - 50_000);
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(ix.visible().length).toBeLessThanOrEqual(5001);
  });
});

describe("filters", () => {
  it("hides status unless asked, honours cleared_seq, keeps markers", () => {
    const p = makePredicate({ ...NO_FILTERS, clearedSeq: 2, types: ["stream"], text: "zzz" });
    expect(p(rows[0])).toBe(false);
    expect(p(rows[2])).toBe(false);
    expect(p(rows[6])).toBe(true);
    const q = makePredicate({ ...NO_FILTERS, showStatus: true });
    expect(q(rows[0])).toBe(true);
    expect(makePredicate({ ...NO_FILTERS, types: ["status"] })(rows[0])).toBe(true);
    const c = makePredicate({ ...NO_FILTERS, channels: ["shell"] });
    expect(c(rows[6])).toBe(false);
  });
  it("matches text against summary, type, msg_id and comm_id", () => {
    const p = (text: string) => makePredicate({ ...NO_FILTERS, text });
    expect(p("PRINT")(rows[1])).toBe(true);
    expect(p("comm_open")(rows[5])).toBe(true);
    expect(p("m6")(rows[5])).toBe(true);
    expect(p("c1")(rows[7])).toBe(true);
    expect(p("nothing")(rows[7])).toBe(false);
  });
});

describe("laneSegments", () => {
  it("merges repeated states and closes segments", () => {
    const st = [
      row(1, { msg_type: "status", state: "busy", t: 100 }),
      row(2, { msg_type: "status", state: "busy", t: 150 }),
      row(3, { msg_type: "status", state: "idle", t: 300 }),
      row(4, { msg_type: "status", state: "busy", t: 1000 }),
    ];
    const segs = laneSegments(st, 1100);
    expect(segs.map((s) => [s.state, s.end - s.start, s.open])).toEqual([
      ["busy", 200, false],
      ["idle", 700, false],
      ["busy", 100, true],
    ]);
  });
  it("keeps only the most recent segments", () => {
    const st = Array.from({ length: 1000 }, (_, i) =>
      row(i, { msg_type: "status", state: i % 2 ? "idle" : "busy", t: i * 10 }),
    );
    const segs = laneSegments(st, 10_000, 200);
    expect(segs.length).toBe(200);
    expect(segs[199].start).toBe(9990);
  });
});

describe("comm threads and own rows", () => {
  it("takes the comm target name once from a comm_open summary", () => {
    expect(commTarget("jupyter.widget 4122f97a")).toBe("jupyter.widget");
    expect(commTarget("  jupyter.widget  ")).toBe("jupyter.widget");
    expect(commTarget("")).toBe("");
    const th = buildThreads(
      [
        row(1, {
          msg_type: "comm_open",
          comm_id: "4122f97a-1",
          summary: "jupyter.widget 4122f97a",
        }),
      ],
      makePredicate(NO_FILTERS),
    );
    expect(th[0].target).toBe("jupyter.widget");
  });
  it("hides the monitor's own rows unless asked", () => {
    const own = row(1, { msg_type: "kernel_info_reply", channel: "shell", own: true });
    const ownStatus = row(2, { msg_type: "status", state: "idle", own: true });
    const other = row(3);
    const hide = makePredicate(NO_FILTERS);
    expect([own, ownStatus, other].filter(hide)).toEqual([other]);
    const show = makePredicate({ ...NO_FILTERS, showOwn: true });
    expect([own, ownStatus, other].filter(show)).toEqual([own, other]);
    const withStatus = makePredicate({ ...NO_FILTERS, showOwn: true, showStatus: true });
    expect([own, ownStatus, other].filter(withStatus).length).toBe(3);
    // a thread made only of own rows is not listed
    const threads = buildThreads(
      [
        row(4, { msg_type: "kernel_info_reply", channel: "shell", own: true, parent_id: "k" }),
        row(5, { parent_id: "x", parent_type: "execute_request" }),
      ],
      hide,
    );
    expect(threads.map((t) => t.key)).toEqual(["p:x"]);
  });
});

describe("captured requests (through a tap)", () => {
  const req = row(1, {
    msg_id: "E1",
    msg_type: "execute_request",
    channel: "shell",
    direction: "to_kernel",
    client: "a1",
    summary: "code: 1/0",
    t: 1000,
  });
  const kids = (from: number) => {
    const p = { parent_id: "E1", parent_type: "execute_request", parent_session: "sA" };
    return [
      row(from, { msg_type: "status", state: "busy", t: 1001, ...p }),
      row(from + 1, { msg_type: "error", summary: "ZeroDivisionError: division by zero", ...p }),
      row(from + 2, {
        msg_type: "execute_reply",
        channel: "shell",
        client: "a1",
        summary: "error [3]",
        t: 1042,
        ...p,
      }),
      row(from + 3, { msg_type: "status", state: "idle", t: 1050, ...p }),
    ];
  };

  it("heads its thread when it arrives first, with its reply", () => {
    const [th] = buildThreads([req, ...kids(2)], makePredicate(NO_FILTERS));
    expect(th.key).toBe("p:E1");
    expect(th.head?.seq).toBe(1);
    expect(th.placeholder).toBeNull();
    expect(th.rows.map((r) => r.seq)).toEqual([3, 4]);
    expect(th.reply?.seq).toBe(4);
    expect(replyStatus(th.reply as never)).toBe("error");
    expect(th.busyMs).toBe(49);
  });
  it("heads its thread when it arrives after its children (replacing the placeholder)", () => {
    const late = { ...req, seq: 10 };
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    ix.addAll(kids(2));
    expect(ix.visible()[0].placeholder?.msg_type).toBe("execute_request");
    ix.add(late);
    const [th] = ix.visible();
    expect(ix.visible()).toHaveLength(1);
    expect(th.head?.seq).toBe(10);
    expect(th.placeholder).toBeNull();
    expect(th.reply?.seq).toBe(4);
    expect(ix.threadOf(late)?.key).toBe("p:E1");
  });
  it("reads the status of a reply from its summary", () => {
    const s = (summary: string) => replyStatus(row(1, { msg_type: "x_reply", summary }));
    expect(s("ok [3]")).toBe("ok");
    expect(s("error [4]")).toBe("error");
    expect(s("aborted [None]")).toBe("aborted");
    expect(s("status: abort")).toBe("abort");
    expect(s("status: ok")).toBe("ok");
    expect(s("cursor_end: 5")).toBe("");
    expect(s("okay")).toBe("");
  });
  it("keeps comm traffic in its comm's thread, both directions", () => {
    const c = { comm_id: "w1", parent_type: "comm_msg" };
    const threads = buildThreads(
      [
        row(1, { msg_type: "comm_open", comm_id: "w1", summary: "jupyter.widget w1" }),
        row(2, {
          msg_id: "C2",
          msg_type: "comm_msg",
          channel: "shell",
          direction: "to_kernel",
          client: "a1",
          comm_id: "w1",
        }),
        row(3, { msg_type: "status", state: "busy", parent_id: "C2", parent_type: "comm_msg" }),
        row(4, { msg_type: "comm_msg", ...c, parent_id: "C2" }),
        // a comm message named as parent by rows before it stays in its comm too
        row(5, { msg_type: "status", state: "busy", parent_id: "C6", parent_type: "comm_msg" }),
        row(6, {
          msg_id: "C6",
          msg_type: "comm_msg",
          channel: "shell",
          direction: "to_kernel",
          client: "b2",
          comm_id: "w1",
        }),
      ],
      makePredicate(NO_FILTERS),
    );
    expect(threads.map((t) => t.key)).toEqual(["c:w1"]);
    expect(threads[0].rows.map((r) => [r.seq, r.direction])).toEqual([
      [1, "from_kernel"],
      [2, "to_kernel"],
      [4, "from_kernel"],
      [6, "to_kernel"],
    ]);
  });
  it("puts a client's answer to an input_request in the request's thread", () => {
    const p = { parent_id: "E1", parent_type: "execute_request" };
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    ix.addAll([
      req,
      row(2, { msg_type: "status", state: "busy", ...p }),
      row(3, {
        msg_id: "I3",
        msg_type: "input_request",
        channel: "stdin",
        client: "a1",
        summary: "prompt: name?",
        ...p,
      }),
      row(4, {
        msg_type: "input_reply",
        channel: "stdin",
        direction: "to_kernel",
        client: "a1",
        parent_id: "I3",
        parent_type: "input_request",
      }),
    ]);
    const v = ix.visible();
    expect(v.map((t) => t.key)).toEqual(["p:E1"]);
    expect(v[0].rows.map((r) => r.msg_type)).toEqual(["input_request", "input_reply"]);
    expect(v[0].reply).toBeNull(); // an input_reply answers the input_request, not the request
    const answer = v[0].rows[1];
    expect(ix.threadOf(answer)?.key).toBe("p:E1");
    // once the input_request leaves the window, a late answer to it no longer joins
    ix.dropBefore(4);
    ix.add(row(9, { msg_type: "input_reply", parent_id: "I3", parent_type: "input_request" }));
    expect(ix.visible().map((t) => t.key)).toEqual(["p:E1", "p:I3"]);
  });
  it("forgets the head and the reply that leave the window", () => {
    const ix = new ThreadIndex(makePredicate(NO_FILTERS));
    ix.addAll([req, ...kids(2)]);
    ix.dropBefore(2);
    const th = ix.threads.get("p:E1");
    expect(th?.head).toBeNull();
    expect(th?.reply?.seq).toBe(4);
    ix.dropBefore(5);
    expect(th?.reply).toBeNull();
    expect(ix.threads.has("p:E1")).toBe(false); // nothing of it left to list
  });
});
