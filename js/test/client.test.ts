import { describe, expect, it } from "vitest";
import { RequestClient, RequestError } from "../src/model/client";

describe("RequestClient", () => {
  it("numbers requests from one counter and settles each with its answer", async () => {
    const sent: Record<string, unknown>[] = [];
    const c = new RequestClient((m) => sent.push(m));
    const a = c.request("refresh");
    const b = c.request("bodies", { seqs: [1, 2] });
    expect(sent).toEqual([
      { kind: "refresh", id: a.id },
      { kind: "bodies", id: b.id, seqs: [1, 2] },
    ]);
    expect(b.id).toBe(a.id + 1);
    expect(c.answer({ kind: "bodies", id: b.id, bodies: [] })).toBe(true);
    expect(c.answer({ kind: "refreshed", id: a.id })).toBe(true);
    await expect(a).resolves.toEqual({ kind: "refreshed", id: a.id });
    await expect(b).resolves.toEqual({ kind: "bodies", id: b.id, bodies: [] });
  });

  it("rejects on an error answer", async () => {
    const c = new RequestClient(() => {});
    const a = c.request("attach", { target: "k" });
    c.answer({ kind: "error", id: a.id, message: "no such kernel" });
    await expect(a).rejects.toBeInstanceOf(RequestError);
    await expect(a).rejects.toThrow("no such kernel");
  });

  it("drops late, repeated, unknown and stale answers in one place", async () => {
    const c = new RequestClient(() => {});
    let settled = 0;
    const a = c.request("older", { before: 10 });
    a.then(
      () => settled++,
      () => settled++,
    );
    c.drop(a.id); // the list's start moved: this answer would leave a gap
    expect(c.answer({ kind: "older", id: a.id, next: 0, done: true, rows: [] })).toBe(false);
    expect(c.answer({ kind: "refreshed", id: 999 })).toBe(false);
    expect(c.answer({ kind: "rows", rows: [] })).toBe(false);
    const b = c.request("refresh");
    expect(c.answer({ kind: "refreshed", id: b.id })).toBe(true);
    expect(c.answer({ kind: "refreshed", id: b.id })).toBe(false);
    await b;
    expect(settled).toBe(0);
    expect(c.waits(a.id)).toBe(false);
  });

  it("forgets the oldest requests when too many wait", () => {
    const c = new RequestClient(() => {});
    const first = c.request("bodies", { seqs: [1] });
    for (let i = 0; i < 500; i++) c.request("bodies", { seqs: [i] });
    expect(c.waits(first.id)).toBe(false);
  });
});
