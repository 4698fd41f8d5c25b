// @vitest-environment jsdom
/**
 * The filter box with queries, in the view on the fake clock: terms a row decides are applied at
 * once; rows whose match turns on a path into the message are asked about (`match`) and listed
 * only when Python says they match; a malformed query is shown, and the list keeps the last
 * good one.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { Row } from "../src/types";
import widget from "../src/widget";
import { fakeModel, row } from "./helpers";

const settle = () => vi.advanceTimersByTimeAsync(400);

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

/** Python's answer to a `match` request: the matching seqs as little-endian float64. */
function answerMatch(
  f: ReturnType<typeof fakeModel>,
  ask: Record<string, unknown>,
  seqs: number[],
) {
  const bytes = new DataView(new ArrayBuffer(8 * seqs.length));
  seqs.forEach((s, i) => {
    bytes.setFloat64(8 * i, s, true);
  });
  f.emit("msg:custom", { kind: "match", id: ask.id, query: ask.query }, [bytes]);
}

const comm = (seq: number) =>
  row(seq, { msg_type: "comm_msg", comm_id: "c1", summary: `c1 ${seq}` });

it("lists the rows Python says match a path, and only those, live and from the window", async () => {
  const f = fakeModel();
  const el = document.createElement("div");
  document.body.append(el);
  widget.initialize({ model: f.model });
  cleanup = widget.render({ model: f.model, el });
  const history: Row[] = [
    comm(1),
    row(2, { summary: "stdout: hi" }),
    comm(3),
    row(4, { channel: "monitor", msg_type: "attached", summary: "attached" }),
    comm(5),
  ];
  f.custom({ kind: "history", id: f.sent[0].id, total: history.length }, history);
  await settle();
  const listed = () =>
    [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));
  expect(listed()).toEqual([1, 2, 3, 4, 5]);
  const asks = () => f.sent.filter((m) => m.kind === "match");

  const box = el.querySelector("[data-role=filter-text]") as HTMLInputElement;
  box.value = "content.data.method:update";
  box.dispatchEvent(new Event("input"));
  await settle();
  // Nothing listed that Python did not say matches (the marker is always listed) ...
  expect(listed()).toEqual([4]);
  // ... and every row the query's path decides was asked about, once.
  expect(asks()).toEqual([
    {
      kind: "match",
      id: expect.any(Number),
      query: "content.data.method:update",
      seqs: [1, 2, 3, 5],
    },
  ]);
  answerMatch(f, asks()[0], [3, 5]);
  await settle();
  expect(listed()).toEqual([3, 4, 5]);

  // Live rows: asked about as they come, listed when they match.
  f.custom({ kind: "rows" }, [comm(6), row(7), comm(8)]);
  await settle();
  expect(listed()).toEqual([3, 4, 5]);
  expect(asks()[1]).toMatchObject({ seqs: [6, 7, 8] });
  // One request at a time: rows that come before its answer wait for it.
  f.custom({ kind: "rows" }, [comm(9)]);
  await settle();
  expect(asks()).toHaveLength(2);
  answerMatch(f, asks()[1], [8]);
  await settle();
  expect(listed()).toEqual([3, 4, 5, 8]);
  expect(asks()[2]).toMatchObject({ seqs: [9] });
  answerMatch(f, asks()[2], []);
  await settle();
  expect(listed()).toEqual([3, 4, 5, 8]);
  expect(asks()).toHaveLength(3); // answered rows are not asked again

  // A term the row decides needs no answer, and still combines with the path's answers.
  box.value = "content.data.method:update OR msg_type:stream";
  box.dispatchEvent(new Event("input"));
  await settle();
  expect(listed()).toEqual([2, 4, 7]); // another query: the old answers do not count for it
  expect(asks()[3]).toMatchObject({ seqs: [1, 3, 5, 6, 8, 9] });
  // An answer to an earlier query is ignored.
  answerMatch(f, asks()[2], [6]);
  await settle();
  expect(listed()).toEqual([2, 4, 7]);
  answerMatch(f, asks()[3], [1]);
  await settle();
  expect(listed()).toEqual([1, 2, 4, 7]);

  // A malformed query is shown next to the box; the list keeps the last good query.
  box.value = "content.data.method:update OR";
  box.dispatchEvent(new Event("input"));
  await settle();
  const error = el.querySelector("[data-role=filter-error]") as HTMLElement;
  expect(error.textContent).toBe(
    "column 28: OR needs a term on both sides, as in msg_type:error OR channel:stdin",
  );
  expect(box.getAttribute("aria-invalid")).toBe("true");
  expect(listed()).toEqual([1, 2, 4, 7]);
  expect(asks()).toHaveLength(4);
  // The filters in force (sent with older requests) keep the last good query.
  const { stateOf } = await import("../src/model/registry");
  expect(stateOf(f.model).filter.filters.text).toBe(
    "content.data.method:update OR msg_type:stream",
  );
  box.value = "msg_type:comm_msg";
  box.dispatchEvent(new Event("input"));
  await settle();
  expect(error.textContent).toBe("");
  expect(box.getAttribute("aria-invalid")).toBe("false");
  expect(listed()).toEqual([1, 3, 4, 5, 6, 8, 9]);
  expect(asks()).toHaveLength(4);
});

it("takes older rows Python found for a path query without asking about them again", async () => {
  const f = fakeModel({ window_rows: 3, filter_text: "content.data.method:update" });
  const el = document.createElement("div");
  document.body.append(el);
  widget.initialize({ model: f.model });
  cleanup = widget.render({ model: f.model, el });
  f.custom({ kind: "history", id: f.sent[0].id, total: 3 }, [comm(10), comm(11), comm(12)]);
  await settle();
  const ask = f.sent.find((m) => m.kind === "match") as Record<string, unknown>;
  expect(ask).toMatchObject({ seqs: [10, 11, 12] });
  answerMatch(f, ask, [12]);
  await settle();
  const { stateOf } = await import("../src/model/registry");
  const s = stateOf(f.model);
  expect(s.listing.shown.map((r) => r.seq)).toEqual([12]);
  s.askOlder();
  const older = f.sent.find((m) => m.kind === "older") as Record<string, unknown>;
  expect(older).toMatchObject({ filters: { text: "content.data.method:update" } });
  f.custom({ kind: "older", id: older.id, next: 2, done: true }, [comm(2), comm(7)]);
  await settle();
  expect(s.listing.shown.map((r) => r.seq)).toEqual([2, 7, 12]);
  expect(f.sent.filter((m) => m.kind === "match")).toHaveLength(1);
});

it("asks about rows in threaded mode and while paused lists only what came before", async () => {
  const f = fakeModel({ view: "threaded", filter_text: "content.data.method:update" });
  const el = document.createElement("div");
  document.body.append(el);
  widget.initialize({ model: f.model });
  cleanup = widget.render({ model: f.model, el });
  f.custom({ kind: "history", id: f.sent[0].id, total: 3 }, [comm(1), comm(2), comm(3)]);
  await settle();
  const listed = () =>
    [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => Number(r.dataset.seq));
  const asks = () => f.sent.filter((m) => m.kind === "match");
  expect(listed()).toEqual([]);
  answerMatch(f, asks()[0], [2]);
  await settle();
  expect(listed()).toEqual([2]);
  // Paused: new rows are not asked about, nor listed, until the list resumes.
  f.model.set("paused", true);
  f.custom({ kind: "rows" }, [comm(4), comm(5)]);
  await settle();
  expect(asks()).toHaveLength(1);
  f.model.set("paused", false);
  await settle();
  expect(asks()[1]).toMatchObject({ seqs: [4, 5] });
  answerMatch(f, asks()[1], [5]);
  await settle();
  expect(listed()).toEqual([2, 5]);
});

it("asks again about rows whose request the client gave up on", async () => {
  const f = fakeModel({ filter_text: "content.data.method:update" });
  const el = document.createElement("div");
  document.body.append(el);
  widget.initialize({ model: f.model });
  cleanup = widget.render({ model: f.model, el });
  f.custom({ kind: "history", id: f.sent[0].id, total: 2 }, [comm(1), comm(2)]);
  await settle();
  const asks = () => f.sent.filter((m) => m.kind === "match");
  expect(asks()).toEqual([expect.objectContaining({ seqs: [1, 2] })]);
  const { stateOf } = await import("../src/model/registry");
  stateOf(f.model).client.drop(asks()[0].id as number); // as after 500 unanswered requests
  f.custom({ kind: "rows" }, [comm(3)]);
  await settle();
  expect(asks()[1]).toMatchObject({ seqs: [1, 2, 3] });
  answerMatch(f, asks()[1], [1, 3]);
  await settle();
  const listed = [...el.querySelectorAll<HTMLElement>("[data-role=row]")].map((r) => r.dataset.seq);
  expect(listed).toEqual(["1", "3"]);
});
