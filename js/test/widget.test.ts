// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Model } from "../src/types";
import widget from "../src/widget";
import { fakeModel, row } from "./helpers";

/**
 * Let the view apply what it scheduled, on the fake clock: new rows are drawn at most every
 * 100 ms (LIVE_DRAW_MS), counters and chips at most every 250 ms (CHROME_INTERVAL), each at the
 * next animation frame (16 ms); bodies are asked for 100 ms after a draw. 300 ms covers them
 * all.
 */
const settle = () => vi.advanceTimersByTimeAsync(300);

let cleanup: (() => void) | null = null;
beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      "setTimeout",
      "clearTimeout",
      "setInterval",
      "clearInterval",
      "requestAnimationFrame",
      "cancelAnimationFrame",
      "performance",
      "Date",
    ],
  });
});
afterEach(() => {
  cleanup?.();
  cleanup = null;
  document.body.innerHTML = "";
  vi.useRealTimers();
});

describe("widget", () => {
  it("asks for history on render, dedupes rows and keeps the DOM bounded", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    document.body.append(el);
    widget.initialize({ model: f.model });
    cleanup = widget.render({ model: f.model, el });
    expect(f.sent[0]).toMatchObject({ kind: "history" });
    const rows = Array.from({ length: 20_000 }, (_, i) => row(i + 1));
    f.custom({ kind: "rows" }, rows.slice(19_990));
    f.custom({ kind: "history", id: f.sent[0].id, total: 20_000 }, rows);
    await settle();
    const root = el.querySelector(".jpf-monitor") as HTMLElement;
    expect(root.dataset.status).toBe("connected");
    // the window holds the newest 10,000 (window_rows' default)
    const shown = el.querySelector("[data-counter=shown] .jpf-cvalue")?.textContent;
    expect(shown).toBe("10000");
    const n = el.querySelectorAll("[data-role=row]").length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(100);
    expect(el.querySelector("[data-role=kernel-id]")?.textContent).toBe("1b2c3d4e");
  });

  it("switches modes from the trait and writes the trait from the buttons", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "rows" }, [
      row(1, { parent_id: "r1", parent_type: "execute_request", parent_session: "s" }),
      row(2, {
        parent_id: "r1",
        parent_type: "execute_request",
        msg_type: "execute_input",
        code: "x=1",
      }),
    ]);
    f.model.set("view", "threaded");
    await settle();
    expect((el.querySelector(".jpf-monitor") as HTMLElement).dataset.view).toBe("threaded");
    expect(el.querySelector("[data-role=placeholder]")?.textContent).toContain("execute_request");
    expect(el.querySelector("[data-role=thread]")?.getAttribute("data-parent-id")).toBe("r1");
    (el.querySelector("[data-role=mode][data-mode=raw]") as HTMLButtonElement).click();
    expect(f.state.view).toBe("raw");
  });

  it("asks for the body of an expanded row and renders it", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "rows" }, [row(7, { msg_type: "stream", size: 10_000_000 })]);
    await settle();
    (el.querySelector("[data-role=row][data-seq='7'] .jpf-line") as HTMLElement).click();
    await settle();
    const req = f.sent.find((m) => m.kind === "bodies");
    expect(req).toMatchObject({ kind: "bodies", seqs: [7] });
    f.custom({ kind: "bodies", id: req?.id }, [
      {
        seq: 7,
        header: {},
        parent_header: {},
        metadata: {},
        content: { name: "stdout", text: "hello" },
        buffers: [],
      },
    ]);
    await settle();
    expect(el.querySelector("[data-role=rendered-output]")?.textContent).toContain("hello");
  });

  it("shows each row's content inline in comfortable density, by mode, and one line in compact", async () => {
    const f = fakeModel({ density: "comfortable" });
    const el = document.createElement("div");
    document.body.append(el);
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "rows" }, [row(7, { msg_type: "stream", summary: "hello" })]);
    await settle();
    // the stream calmed down: the on-screen row's body is asked for, no click
    await vi.advanceTimersByTimeAsync(1000);
    const req = f.sent.find((m) => m.kind === "bodies");
    expect(req).toMatchObject({ kind: "bodies", seqs: [7] });
    f.custom({ kind: "bodies", id: req?.id }, [
      {
        seq: 7,
        header: { msg_type: "stream" },
        parent_header: {},
        metadata: {},
        content: { name: "stdout", text: "hello inline" },
        buffers: [],
      },
    ]);
    await settle();
    const preview = () => el.querySelector("[data-role=row][data-seq='7'] [data-role=preview]");
    expect(preview()?.querySelector("[data-role=rendered-output]")?.textContent).toContain(
      "hello inline",
    );
    expect(el.querySelector(".jpf-detail")).toBeNull();
    (el.querySelector("[data-role=mode][data-mode=raw]") as HTMLButtonElement).click();
    await settle();
    expect(preview()?.querySelector("[data-role=raw-json]")?.textContent).toContain("hello inline");
    const toggle = el.querySelector("[data-role=density]") as HTMLButtonElement;
    toggle.click();
    await settle();
    expect(f.state.density).toBe("compact");
    expect(toggle.getAttribute("aria-pressed")).toBe("true");
    expect(preview()).toBeNull();
    f.model.set("density", "comfortable");
    await settle();
    expect(preview()).not.toBeNull();
  });

  it("moves between rows with the arrow keys or j/k, opens with Enter, copies with c", async () => {
    const f = fakeModel({ density: "compact" });
    const el = document.createElement("div");
    document.body.append(el);
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "rows" }, [row(1), row(2), row(3)]);
    await settle();
    const root = el.querySelector(".jpf-monitor") as HTMLElement;
    const press = async (key: string) => {
      (document.activeElement && root.contains(document.activeElement)
        ? document.activeElement
        : root
      ).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
      await settle();
    };
    const focused = () => el.querySelector<HTMLElement>(".jpf-focused")?.dataset.seq;
    root.focus();
    await press("k"); // from the end of what is on screen: the last row
    expect(focused()).toBe("3");
    expect((document.activeElement as HTMLElement).dataset.seq).toBe("3");
    await press("ArrowUp");
    await press("k");
    expect(focused()).toBe("1");
    await press("j");
    expect(focused()).toBe("2");
    await press("ArrowDown");
    expect(focused()).toBe("3");
    await press("Enter");
    const opened = el.querySelector<HTMLElement>("[data-role=row][data-seq='3']");
    expect(opened?.getAttribute("aria-expanded")).toBe("true");
    const asked = f.sent.filter((m) => m.kind === "bodies").flatMap((m) => m.seqs as number[]);
    expect(asked).toContain(3);
    await press("c");
    expect(
      el.querySelector<HTMLElement>("[data-role=row][data-seq='3']")?.dataset.copied,
    ).toBeDefined();
    expect(el.querySelector("[data-role=list]")?.getAttribute("role")).toBe("list");
    expect(opened?.getAttribute("role")).toBe("listitem");
    expect(opened?.getAttribute("aria-label")).toContain("stream");
  });

  it("shares one state between two views of a model: each batch is decoded once", async () => {
    const f = fakeModel();
    const a = document.createElement("div");
    const b = document.createElement("div");
    document.body.append(a, b);
    // anywidget gives initialize and each render a proxy of its own of the one model
    const proxy = (): Model => ({ ...f.model });
    const endModel = widget.initialize({ model: proxy() });
    const disposeA = widget.render({ model: proxy(), el: a });
    const disposeB = widget.render({ model: proxy(), el: b });
    const stats = () =>
      (globalThis as unknown as { __jpfDecoded: { batches: number; liveRows: number } })
        .__jpfDecoded;
    const before = { ...stats() };
    f.custom({ kind: "rows" }, [row(1), row(2), row(3, { summary: "third" })]);
    await settle();
    expect(stats().batches - before.batches).toBe(1);
    expect(stats().liveRows - before.liveRows).toBe(3);
    const seqs = (el: HTMLElement) =>
      [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => r.dataset.seq);
    expect(seqs(a)).toEqual(["1", "2", "3"]);
    expect(seqs(b)).toEqual(["1", "2", "3"]);
    // a filter typed in one view filters both (the filters are the model's)
    const text = a.querySelector("[data-role=filter-text]") as HTMLInputElement;
    text.value = "third";
    text.dispatchEvent(new Event("input"));
    await settle();
    expect(seqs(a)).toEqual(["3"]);
    expect(seqs(b)).toEqual(["3"]);
    await settle(); // saved to the trait 300 ms after the last keystroke
    expect(f.state.filter_text).toBe("third");
    // one view goes: the other keeps its rows and Python hears nothing yet
    disposeA();
    expect(f.sent.some((m) => m.kind === "views")).toBe(false);
    f.custom({ kind: "rows" }, [row(4, { summary: "third again" })]);
    await settle();
    expect(seqs(b)).toEqual(["3", "4"]);
    disposeB();
    expect(f.sent[f.sent.length - 1]).toEqual({ kind: "views", count: 0 });
    expect(f.listeners()).toBe(0);
    endModel();
  });

  it("removes its listeners and DOM on cleanup", () => {
    const f = fakeModel();
    const el = document.createElement("div");
    const dispose = widget.render({ model: f.model, el });
    expect(f.listeners()).toBeGreaterThan(0);
    dispose();
    expect(f.listeners()).toBe(0);
    expect(el.children.length).toBe(0);
  });

  it("shows the picker without a target, attaches from it and starts the window over", async () => {
    const f = fakeModel({
      target: "",
      status: "closed",
      kernel_id: "",
      kernels: [
        {
          kernel_id: "k-target-0001",
          kernel_name: "python3",
          notebook: "target.ipynb",
          execution_state: "idle",
          connections: 1,
          last_activity: new Date(Date.now() - 180_000).toISOString(),
          server_url: "http://127.0.0.1:8888/",
          connection_file: "",
        },
      ],
      kernels_error: "",
    });
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    expect(f.sent.map((m) => m.kind)).toEqual(["history", "refresh"]);
    await settle();
    const root = el.querySelector(".jpf-monitor") as HTMLElement;
    expect(root.dataset.picker).toBe("open");
    const pickRow = el.querySelector("[data-role=picker-row]") as HTMLElement;
    expect(pickRow.dataset.kernelId).toBe("k-target-0001");
    expect(pickRow.textContent).toContain("target.ipynb");
    expect(pickRow.textContent).toContain("3 min ago");
    expect(el.querySelector("[data-role=picker-refresh]")?.textContent).toBe("refreshing…");
    f.custom({ kind: "refreshed", id: f.sent[1].id }, []);
    await settle();
    expect(el.querySelector("[data-role=picker-refresh]")?.textContent).toBe("refresh");
    expect(el.querySelector(".jpf-empty")?.textContent).toBe("");

    // rows of some earlier kernel are in the window
    f.custom({ kind: "rows" }, [row(1), row(2)]);
    await settle();
    pickRow.click();
    const attach = f.sent[f.sent.length - 1];
    expect(attach).toMatchObject({ kind: "attach", target: "k-target-0001" });
    await settle();
    expect(root.dataset.picker).toBe("closed");
    expect(el.querySelectorAll("[data-role=row]").length).toBe(0);
    // an old kernel's row still in flight is held back, then dropped by the switch
    f.custom({ kind: "rows" }, [row(3)]);
    f.model.set("target", "k-target-0001");
    f.model.set("status", "connected");
    await settle();
    expect(el.querySelectorAll("[data-role=row]").length).toBe(0);
    f.custom({ kind: "rows" }, [
      row(4, { channel: "monitor", msg_type: "switched", summary: "to k-target" }),
      row(5, { summary: "from the new kernel" }),
    ]);
    f.custom({ kind: "attached", id: attach.id }, []);
    await settle();
    const seqs = [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => r.dataset.seq);
    expect(seqs).toEqual(["4", "5"]);

    // "switch kernel" opens it again; a failed attach reopens it
    (el.querySelector("[data-role=switch-kernel]") as HTMLElement).click();
    await settle();
    expect(root.dataset.picker).toBe("open");
    expect(f.sent[f.sent.length - 1]).toMatchObject({ kind: "refresh" });
    (el.querySelector("[data-role=picker-row]") as HTMLElement).click();
    const again = f.sent[f.sent.length - 1];
    f.custom({ kind: "error", id: again.id, message: "no such kernel" }, undefined);
    await Promise.resolve(); // answers settle their request's promise
    f.custom({ kind: "rows" }, [row(6)]);
    const history = f.sent[f.sent.length - 1];
    expect(history).toMatchObject({ kind: "history" }); // the cleared window is asked for again
    f.custom(
      { kind: "history", id: history.id, total: 6 },
      [1, 2, 3, 4, 5, 6].map((i) =>
        i === 4 ? row(4, { channel: "monitor", msg_type: "switched" }) : row(i),
      ),
    );
    await settle();
    expect(root.dataset.picker).toBe("open");
    const back = [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => r.dataset.seq);
    expect(back).toEqual(["4", "5", "6"]);
    f.model.set("kernels_error", "could not reach http://127.0.0.1:8888/");
    await settle();
    expect(el.querySelector("[data-role=picker-error]")?.textContent).toContain("could not reach");
  });

  it("asks Python for older rows by its filters when its list reaches the top", async () => {
    const f = fakeModel({ window_rows: 50, filter_types: ["comm_msg"] });
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    // the newest 50 of 1,000 rows; one of them a comm_msg: the list fits, so it is at its top
    const rows = Array.from({ length: 50 }, (_, i) =>
      row(951 + i, i === 10 ? { msg_type: "comm_msg" } : {}),
    );
    f.custom({ kind: "history", id: f.sent[0].id, total: 50 }, rows);
    await settle();
    const older = () => f.sent.filter((m) => m.kind === "older");
    expect(older()).toHaveLength(1);
    expect(older()[0]).toMatchObject({
      before: 951,
      above: -1,
      filters: { types: ["comm_msg"], text: "", show_status: false, show_own: false },
    });
    const listed = () =>
      [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));
    expect(listed()).toEqual([961]);
    // an answer to another request is ignored; the right one is listed before the window's rows
    f.custom({ kind: "older", id: 999, next: 0, done: true }, [row(5, { msg_type: "comm_msg" })]);
    const id = older()[0].id;
    const page = [row(700, { msg_type: "comm_msg" }), row(900, { msg_type: "comm_msg" })];
    f.custom({ kind: "older", id, next: 700, done: false }, page);
    await settle();
    expect(listed()).toEqual([700, 900, 961]);
    // still at the top and not done: the next page is asked for below where the search stopped
    expect(older()).toHaveLength(2);
    expect(older()[1]).toMatchObject({ before: 700 });
    f.custom({ kind: "older", id: older()[1].id, next: 0, done: true }, [
      row(3, { msg_type: "comm_msg" }),
    ]);
    await settle();
    expect(listed()).toEqual([3, 700, 900, 961]);
    await settle();
    expect(older()).toHaveLength(2); // done: no more requests
    // a filter change starts again from the window
    f.model.set("filter_types", []);
    await settle();
    expect(listed()).not.toContain(3);
  });

  it("ignores an older page asked for before the list's start moved on", async () => {
    const f = fakeModel({ window_rows: 50, filter_types: ["comm_msg"] });
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    const comm = (seq: number) => row(seq, { msg_type: "comm_msg" });
    const rows = Array.from({ length: 50 }, (_, i) => (i === 10 ? comm(961) : row(951 + i)));
    f.custom({ kind: "history", id: f.sent[0].id, total: 50 }, rows);
    await settle();
    const older = () => f.sent.filter((m) => m.kind === "older");
    expect(older()).toHaveLength(1);
    // a flood of matching rows: the list keeps at most twice the window, its oldest are cut
    for (let b = 0; b < 3; b++)
      f.custom(
        { kind: "rows" },
        Array.from({ length: 40 }, (_, i) => comm(1001 + 40 * b + i)),
      );
    f.custom({ kind: "older", id: older()[0].id, next: 0, done: true }, [comm(700)]);
    await settle();
    const shown = el.querySelector("[data-counter=shown] .jpf-cvalue")?.textContent;
    expect(shown).toBe("100"); // not 101: row 700 would have left a gap below row 1021
    expect(older()).toHaveLength(1); // following the tail, not at the top: nothing asked
  });

  it("a paused list also reaches older rows, and starts again from the window on resume", async () => {
    const f = fakeModel({ window_rows: 50, filter_types: ["comm_msg"], paused: true });
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    const comm = (seq: number) => row(seq, { msg_type: "comm_msg" });
    const rows = Array.from({ length: 50 }, (_, i) => (i === 10 ? comm(961) : row(951 + i)));
    f.custom({ kind: "history", id: f.sent[0].id, total: 50 }, rows);
    await settle();
    const older = () => f.sent.filter((m) => m.kind === "older");
    const listed = () =>
      [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));
    expect(older()).toHaveLength(1);
    f.custom({ kind: "rows" }, [row(1001), comm(1005)]); // paused: counted, not listed
    f.custom({ kind: "older", id: older()[0].id, next: 0, done: true }, [comm(700)]);
    await settle();
    expect(listed()).toEqual([700, 961]);
    f.model.set("paused", false);
    await settle();
    expect(listed()).toEqual([961, 1005]);
    expect(older()).toHaveLength(2); // asked again, from the window's first row
    expect(older()[1]).toMatchObject({ before: 953 }); // 951 and 952 left the window of 50
  });

  it("follows window_rows: keeps the newest rows that fit and asks for history again", async () => {
    const f = fakeModel({ window_rows: 100 });
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    const rows = Array.from({ length: 100 }, (_, i) => row(i + 1));
    f.custom({ kind: "history", id: f.sent[0].id, total: 100 }, rows);
    await settle();
    const shown = () => el.querySelector("[data-counter=shown] .jpf-cvalue")?.textContent;
    expect(shown()).toBe("100");
    f.model.set("window_rows", 30);
    await settle();
    expect(shown()).toBe("30");
    const histories = f.sent.filter((m) => m.kind === "history");
    expect(histories).toHaveLength(2);
    f.model.set("window_rows", 200);
    f.custom({ kind: "history", id: f.sent[f.sent.length - 1].id, total: 100 }, rows);
    await settle();
    expect(shown()).toBe("100");
  });

  it("draws new rows at most every 100 ms and counters at most every 250 ms", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    const listed = () =>
      [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));
    const captured = () => el.querySelector("[data-counter=captured] .jpf-cvalue")?.textContent;
    f.custom({ kind: "rows" }, [row(1)]);
    await settle();
    expect(listed()).toEqual([1]);
    expect(captured()).toBe("1");
    // long after the last draw: drawn at the next frame
    f.custom({ kind: "rows" }, [row(2)]);
    await vi.advanceTimersByTimeAsync(20);
    expect(listed()).toEqual([1, 2]);
    expect(captured()).toBe("2");
    // right after a draw: held back, then drawn once the interval is over
    f.custom({ kind: "rows" }, [row(3)]);
    await vi.advanceTimersByTimeAsync(50);
    expect(listed()).toEqual([1, 2]);
    expect(captured()).toBe("2");
    await vi.advanceTimersByTimeAsync(80);
    expect(listed()).toEqual([1, 2, 3]);
    expect(captured()).toBe("2");
    await vi.advanceTimersByTimeAsync(150);
    expect(captured()).toBe("3");
  });

  it("a history with a switched marker shows only the current kernel's rows", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "history", id: f.sent[0].id, total: 4 }, [
      row(1),
      row(2, { channel: "monitor", msg_type: "switched" }),
      row(3),
    ]);
    await settle();
    const seqs = [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => r.dataset.seq);
    expect(seqs).toEqual(["2", "3"]);
  });

  it("hides the monitor's own rows until asked, and shows remote connection info", async () => {
    const f = fakeModel({
      connection: {
        transport: "websocket",
        server_url: "http://127.0.0.1:8888/",
        notebook: "target.ipynb",
        protocol: "v1.kernel.websocket.jupyter.org",
        kernel_id: "k",
      },
    });
    const el = document.createElement("div");
    document.body.append(el);
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "rows" }, [
      row(1, { msg_type: "kernel_info_reply", channel: "shell", own: true }),
      row(2),
    ]);
    await settle();
    expect(el.querySelectorAll("[data-role=row]").length).toBe(1);
    expect(el.querySelector("[data-counter=captured] .jpf-cvalue")?.textContent).toBe("2");
    const own = el.querySelector("[data-role=show-own]") as HTMLInputElement;
    own.click();
    await settle();
    expect(el.querySelectorAll("[data-role=row]").length).toBe(2);
    expect(el.querySelector("[data-role=connection]")?.textContent).toBe(
      "http://127.0.0.1:8888/ · target.ipynb · protocol v1.kernel.websocket.jupyter.org",
    );
  });

  it("says nothing under a failed monitor's error, and names a comm's target once", async () => {
    const f = fakeModel({ status: "failed", status_detail: "no kernel matches 'x'" });
    const el = document.createElement("div");
    cleanup = widget.render({ model: f.model, el });
    await settle();
    expect(el.querySelector("[data-role=status-detail]")?.textContent).toContain("no kernel");
    expect((el.querySelector(".jpf-empty") as HTMLElement).hidden).toBe(true);
    f.model.set("status", "connected");
    f.model.set("view", "threaded");
    f.custom({ kind: "rows" }, [
      row(1, {
        msg_type: "comm_open",
        comm_id: "4122f97a-0000",
        summary: "jupyter.widget 4122f97a",
      }),
    ]);
    await settle();
    const head = el.querySelector(".jpf-thread-head")?.textContent ?? "";
    expect(head).toContain("jupyter.widget · 4122f97a");
    expect(head.match(/4122f97a/g)?.length).toBe(1);
  });

  it("splits a failed bodies request and shows which body could not be had", async () => {
    const f = fakeModel();
    const el = document.createElement("div");
    document.body.append(el);
    cleanup = widget.render({ model: f.model, el });
    f.custom({ kind: "rows" }, [row(1), row(2), row(3)]);
    await settle();
    for (const seq of [1, 2, 3])
      (el.querySelector(`[data-role=row][data-seq='${seq}'] .jpf-line`) as HTMLElement).click();
    await settle();
    const batch = f.sent.filter((m) => m.kind === "bodies");
    expect(batch).toHaveLength(1);
    expect(batch[0].seqs).toEqual([1, 2, 3]);
    f.custom({ kind: "error", id: batch[0].id, message: "Recursion limit reached" }, undefined);
    await Promise.resolve(); // answers settle their request's promise
    const singles = f.sent.filter((m) => m.kind === "bodies").slice(1);
    expect(singles.map((m) => m.seqs)).toEqual([[1], [2], [3]]);
    const body = (seq: number) => ({
      seq,
      header: {},
      parent_header: {},
      metadata: {},
      content: { name: "stdout", text: `body ${seq}` },
      buffers: [],
    });
    f.custom({ kind: "bodies", id: singles[0].id }, [body(1)]);
    f.custom({ kind: "error", id: singles[1].id, message: "Recursion limit reached" }, undefined);
    f.custom({ kind: "bodies", id: singles[2].id }, []); // evicted meanwhile
    await settle();
    const detail = (seq: number) => el.querySelector(`[data-role=row][data-seq='${seq}']`);
    expect(detail(1)?.querySelector("[data-role=rendered-output]")?.textContent).toContain(
      "body 1",
    );
    expect(detail(2)?.querySelector("[data-role=body-error]")?.textContent).toContain(
      "Recursion limit reached",
    );
    expect(detail(3)?.querySelector("[data-role=body-error]")?.textContent).toContain(
      "no longer holds",
    );
    await settle();
    expect(f.sent.filter((m) => m.kind === "bodies")).toHaveLength(4); // no retry loop
    (el.querySelector("[data-seq='2'] [data-role=body-retry]") as HTMLElement).click();
    await settle();
    expect(f.sent[f.sent.length - 1]).toMatchObject({ kind: "bodies", seqs: [2] });
  });

  it("rows rewritten in place while following a tail look like rows built afresh", async () => {
    const f = fakeModel({ show_status: true });
    const el = document.createElement("div");
    document.body.append(el);
    widget.initialize({ model: f.model });
    cleanup = widget.render({ model: f.model, el });
    const mixed = (from: number, k: number) =>
      Array.from({ length: k }, (_, i) => {
        const seq = from + i;
        if (seq % 7 === 0) return row(seq, { msg_type: "status", state: "busy", summary: "busy" });
        if (seq % 11 === 0) return row(seq, { channel: "shell", msg_type: "kernel_info_reply" });
        // through a tap: requests and replies of several clients (and some with no client)
        if (seq % 3 === 0)
          return row(seq, {
            channel: seq % 2 ? "shell" : "control",
            direction: seq % 4 ? "to_kernel" : "from_kernel",
            client: seq % 13 === 0 ? "" : `client-${seq % 5}`,
            msg_type: "execute_request",
          });
        return row(seq, { summary: `out ${seq}`, own: seq % 5 === 0, size: seq * 10 });
      });
    f.custom({ kind: "history", id: f.sent[0].id, total: 50 }, mixed(1, 50));
    await settle();
    const before = [...el.querySelectorAll("[data-role=row]")];
    f.custom({ kind: "rows" }, mixed(51, 500));
    await settle();
    const after = [...el.querySelectorAll<HTMLElement>("[data-role=row]")];
    expect(after.some((r) => before.includes(r))).toBe(true);
    expect(after.at(-1)?.dataset.seq).toBe("550");
    // Another view, given all those rows at once, builds every element afresh: same DOM.
    const html = after.map((r) => r.outerHTML);
    const g = fakeModel({ show_status: true });
    const el2 = document.createElement("div");
    document.body.append(el2);
    widget.initialize({ model: g.model });
    const cleanup2 = widget.render({ model: g.model, el: el2 });
    g.custom({ kind: "history", id: g.sent[0].id, total: 550 }, mixed(1, 550));
    await settle();
    const fresh = [...el2.querySelectorAll<HTMLElement>("[data-role=row]")];
    cleanup2();
    expect(fresh.map((r) => r.dataset.seq)).toEqual(after.map((r) => r.dataset.seq));
    expect(fresh.map((r) => r.outerHTML)).toEqual(html);
  });
});

/** Rows of one execute request from client `a1` through a tap: request, outputs, reply. */
function tapped(from: number, opts: { requestLast?: boolean; status?: string } = {}) {
  const p = { parent_id: "E1", parent_type: "execute_request", parent_session: "sA" };
  const request = row(from, {
    msg_id: "E1",
    msg_type: "execute_request",
    channel: "shell",
    direction: "to_kernel",
    client: "a1",
    summary: "code: print('hi')",
    t: 5000,
  });
  const rest = [
    row(from + 1, { msg_type: "status", state: "busy", t: 5002, ...p }),
    row(from + 2, { msg_type: "stream", summary: "stdout: hi", ...p }),
    row(from + 3, {
      msg_type: "execute_reply",
      channel: "shell",
      client: "a1",
      summary: `${opts.status ?? "ok"} [1]`,
      t: 5042,
      ...p,
    }),
    row(from + 4, { msg_type: "status", state: "idle", t: 5050, ...p }),
  ];
  if (!opts.requestLast) return [request, ...rest];
  return [...rest.map((r) => ({ ...r, seq: r.seq - 1 })), { ...request, seq: from + 4 }];
}

describe("full capture (a tap in front of the kernel)", () => {
  const render = (traits: Record<string, unknown> = {}) => {
    const f = fakeModel({ capture: "tap", ...traits });
    const el = document.createElement("div");
    document.body.append(el);
    cleanup = widget.render({ model: f.model, el });
    return { f, el };
  };
  const listed = (el: HTMLElement) =>
    [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));

  it("marks requests and replies with their direction and client", async () => {
    const { f, el } = render();
    f.custom({ kind: "rows" }, [
      ...tapped(1),
      row(6, {
        msg_type: "comm_msg",
        channel: "shell",
        direction: "to_kernel",
        client: "b2",
        comm_id: "w1",
      }),
    ]);
    await settle();
    const at = (seq: number) =>
      el.querySelector(`[data-role=row][data-seq='${seq}']`) as HTMLElement;
    expect(at(1).dataset.direction).toBe("to_kernel");
    expect(at(1).dataset.client).toBe("a1");
    const mark = at(1).querySelector(".jpf-dir") as HTMLElement;
    expect(mark.textContent).toBe("→");
    expect(mark.getAttribute("aria-label")).toBe("to the kernel");
    expect(at(1).querySelector(".jpf-client")?.textContent).toBe("a1");
    expect(at(4).dataset.direction).toBe("from_kernel");
    expect(at(4).querySelector(".jpf-dir")?.getAttribute("aria-label")).toBe("from the kernel");
    expect(at(6).querySelector(".jpf-client")?.textContent).toBe("b2");
    // the same client has the same colour; iopub rows carry no mark and no client
    const colour = (seq: number) =>
      [...(at(seq).querySelector(".jpf-client") as HTMLElement).classList].find((c) =>
        /^jpf-client-\d$/.test(c),
      );
    expect(colour(1)).toBe(colour(4));
    expect(at(3).dataset.direction).toBe("from_kernel");
    expect(at(3).dataset.client).toBe("");
    expect(at(3).querySelector(".jpf-dir")).toBeNull();
  });

  it("filters by direction and client from the chips, through the traits", async () => {
    const { f, el } = render();
    f.custom({ kind: "rows" }, [
      ...tapped(1),
      row(6, {
        msg_id: "K6",
        msg_type: "kernel_info_request",
        channel: "control",
        direction: "to_kernel",
        client: "b2",
      }),
    ]);
    await settle();
    const chip = (role: string, attr: string, v: string) =>
      el.querySelector(`[data-role=${role}][${attr}='${v}']`) as HTMLButtonElement;
    expect(chip("filter-direction", "data-direction", "to_kernel")).not.toBeNull();
    expect(chip("filter-channel", "data-channel", "control")).not.toBeNull();
    const clients = [...el.querySelectorAll<HTMLElement>("[data-role=filter-client]")];
    expect(clients.map((c) => c.dataset.client)).toEqual(["a1", "b2"]);
    chip("filter-direction", "data-direction", "to_kernel").click();
    expect(f.state.filter_directions).toEqual(["to_kernel"]);
    await settle();
    expect(listed(el)).toEqual([1, 6]);
    expect(
      chip("filter-direction", "data-direction", "to_kernel").getAttribute("aria-pressed"),
    ).toBe("true");
    chip("filter-direction", "data-direction", "to_kernel").click();
    chip("filter-client", "data-client", "b2").click();
    expect(f.state.filter_directions).toEqual([]);
    expect(f.state.filter_clients).toEqual(["b2"]);
    await settle();
    // iopub goes to every client: it stays
    expect(listed(el)).toEqual([3, 6]);
    // a trait set from Python applies too
    f.model.set("filter_clients", ["a1"]);
    await settle();
    expect(listed(el)).toEqual([1, 3, 4]);
  });

  it("asks for older rows with the direction and client filters", async () => {
    const { f } = render({
      window_rows: 50,
      filter_directions: ["to_kernel"],
      filter_clients: ["a1", "b2"],
    });
    f.custom({ kind: "history", id: f.sent[0].id, total: 50 }, tapped(901));
    await settle();
    const older = f.sent.filter((m) => m.kind === "older");
    expect(older).toHaveLength(1);
    expect(older[0]).toMatchObject({
      before: 901,
      filters: { directions: ["to_kernel"], clients: ["a1", "b2"], types: [], channels: [] },
    });
  });

  for (const requestLast of [false, true]) {
    it(`heads a thread with the captured request and its reply (request ${requestLast ? "after" : "before"} its children)`, async () => {
      const { f, el } = render({ view: "threaded" });
      f.custom({ kind: "rows" }, tapped(1, { requestLast, status: "error" }));
      await settle();
      expect(el.querySelector("[data-role=placeholder]")).toBeNull();
      const head = el.querySelector(".jpf-thread-head") as HTMLElement;
      expect(head.dataset.head).toBe("request");
      expect(head.dataset.direction).toBe("to_kernel");
      expect(head.dataset.client).toBe("a1");
      expect(head.dataset.replyStatus).toBe("error");
      expect(head.textContent).toContain("execute_request");
      expect(head.querySelector(".jpf-dir")?.textContent).toBe("→");
      const status = head.querySelector("[data-role=reply-status]") as HTMLElement;
      expect(status.dataset.status).toBe("error");
      expect(status.textContent).toBe("reply error");
      expect(head.querySelector("[data-role=reply-time]")?.textContent).toBe("in 42 ms");
      expect(head.textContent).toContain("busy 48 ms");
      // the thread lists the output and the reply (the request is its head)
      const thread = el.querySelector("[data-role=thread]") as HTMLElement;
      expect(thread.dataset.parentId).toBe("E1");
      const types = [...thread.querySelectorAll<HTMLElement>("[data-role=row]")].map(
        (r) => r.dataset.msgType,
      );
      expect(types).toEqual(["stream", "execute_reply"]);
    });
  }

  it("shows a thread's request body on a click on it; the caret still collapses", async () => {
    const { f, el } = render({ view: "threaded" });
    f.custom({ kind: "rows" }, tapped(1));
    await settle();
    (el.querySelector(".jpf-head-request") as HTMLElement).click();
    await settle();
    const req = f.sent.filter((m) => m.kind === "bodies");
    expect(req.at(-1)).toMatchObject({ seqs: [1] });
    f.custom({ kind: "bodies", id: req.at(-1)?.id }, [
      {
        seq: 1,
        header: { msg_type: "execute_request" },
        parent_header: {},
        metadata: {},
        content: { code: "print('hi')", silent: false, store_history: true },
        buffers: [],
      },
    ]);
    await settle();
    const open = el.querySelector(".jpf-head-open") as HTMLElement;
    expect(open.dataset.headSeq).toBe("1");
    expect(open.querySelector(".jpf-detail")?.textContent).toContain("store_history");
    (el.querySelector(".jpf-thread-head .jpf-caret") as HTMLElement).click();
    await settle();
    expect(el.querySelectorAll("[data-role=thread] [data-role=row]")).toHaveLength(0);
    (el.querySelector(".jpf-head-request") as HTMLElement).click();
    await settle();
    expect(el.querySelector(".jpf-head-open")).toBeNull();
  });

  it("says what it sees: a badge through a tap, a note with the way to a tap otherwise", async () => {
    const { f, el } = render({ capture: "iopub" });
    await settle();
    const root = el.querySelector(".jpf-monitor") as HTMLElement;
    const note = () => el.querySelector("[data-role=capture-note]") as HTMLElement | null;
    const badge = () => el.querySelector("[data-role=capture-badge]") as HTMLElement | null;
    expect(root.dataset.capture).toBe("iopub");
    expect(note()?.textContent).toContain("other clients' requests and replies");
    expect(note()?.querySelector("code")?.textContent).toBe("jpf tap install");
    expect(note()?.textContent).toContain("(tapped)");
    expect(badge()).toBeNull();
    f.model.set("capture", "server");
    await settle();
    expect(note()?.dataset.capture).toBe("server");
    expect(note()?.textContent).toContain("Jupyter server");
    f.model.set("capture", "tap");
    await settle();
    expect(note()).toBeNull();
    expect(badge()?.textContent).toBe("full capture");
    expect(root.dataset.capture).toBe("tap");
    f.model.set("capture", "");
    await settle();
    expect(note()).toBeNull();
    expect(badge()).toBeNull();
  });

  it("counts the frames the tap dropped, only through a tap", async () => {
    const { f, el } = render({ counters: { captured: 3, tap_dropped_frames: 14 } });
    await settle();
    const dropped = () => el.querySelector("[data-counter=tap_dropped] .jpf-cvalue");
    expect(dropped()?.textContent).toBe("14");
    f.model.set("capture", "iopub");
    f.model.set("counters", { captured: 4 });
    await settle();
    expect(dropped()).toBeNull();
  });

  it("shows no direction or client chips without a tap until a request is seen", async () => {
    const { f, el } = render({ capture: "iopub" });
    f.custom({ kind: "rows" }, [
      row(1),
      row(2, { msg_type: "kernel_info_reply", channel: "shell" }),
    ]);
    await settle();
    expect(el.querySelector("[data-role=filter-direction]")).toBeNull();
    expect(el.querySelector("[data-role=filter-client]")).toBeNull();
    expect(el.querySelector("[data-role=filter-channel][data-channel=control]")).toBeNull();
  });
});
