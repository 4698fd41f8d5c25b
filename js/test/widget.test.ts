// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import type { Model } from "../src/types";
import widget from "../src/widget";
import { row } from "./helpers";

type Cb = (...args: unknown[]) => void;

function fakeModel(traits: Record<string, unknown> = {}) {
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

const frame = () => new Promise((r) => setTimeout(r, 40));

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  document.body.innerHTML = "";
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
    await frame();
    const root = el.querySelector(".jpf-monitor") as HTMLElement;
    expect(root.dataset.status).toBe("connected");
    const shown = el.querySelector("[data-counter=shown] .jpf-cvalue")?.textContent;
    expect(shown).toBe("20000");
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
    await frame();
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
    await frame();
    (el.querySelector("[data-role=row][data-seq='7'] .jpf-line") as HTMLElement).click();
    await new Promise((r) => setTimeout(r, 200));
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
    await frame();
    expect(el.querySelector("[data-role=rendered-output]")?.textContent).toContain("hello");
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
});
