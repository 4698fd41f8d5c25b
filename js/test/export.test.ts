// @vitest-environment jsdom
/**
 * The view's exports: "export" asks Python for a trace of what the filters show and downloads
 * the answer under the name Python gives; "diagram" on a thread head asks for the thread's
 * sequence diagram and copies it. Python's side is in tests/test_widget.py, the real browser's
 * in tests/e2e/test_export.py.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decodeMessage } from "../src/protocol";
import widget from "../src/widget";
import { fakeModel, row } from "./helpers";

const settle = () => vi.advanceTimersByTimeAsync(300);
const bytes = (text: string) => new DataView(new TextEncoder().encode(text).buffer);

let cleanup: (() => void) | null = null;
let downloads: { name: string; blob: Blob }[] = [];
let copied: string[] = [];

beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      "setTimeout",
      "clearTimeout",
      "requestAnimationFrame",
      "cancelAnimationFrame",
      "performance",
    ],
  });
  downloads = [];
  copied = [];
  // jsdom has neither blob URLs nor a clipboard: record what the view hands them.
  const blobs = new Map<string, Blob>();
  URL.createObjectURL = (blob: Blob) => {
    const url = `blob:test/${blobs.size}`;
    blobs.set(url, blob);
    return url;
  };
  URL.revokeObjectURL = (url: string) => void blobs.delete(url);
  vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
    this: HTMLAnchorElement,
  ) {
    const blob = blobs.get(this.href);
    if (blob) downloads.push({ name: this.download, blob });
  });
  Object.defineProperty(navigator, "clipboard", {
    configurable: true,
    value: { writeText: async (text: string) => void copied.push(text) },
  });
});
afterEach(() => {
  cleanup?.();
  cleanup = null;
  document.body.innerHTML = "";
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function render(traits: Record<string, unknown> = {}) {
  const f = fakeModel(traits);
  const el = document.createElement("div");
  document.body.append(el);
  cleanup = widget.render({ model: f.model, el });
  return { f, el };
}

describe("export", () => {
  it("asks for a trace of what the filters show and downloads it as Python names it", async () => {
    const { f, el } = render({ filter_types: ["stream"], filter_text: "hello", cleared_seq: 3 });
    f.custom({ kind: "rows" }, [row(4, { msg_type: "stream", summary: "hello" })]);
    await settle();
    const button = el.querySelector("[data-role=export]") as HTMLButtonElement;
    button.click();
    const req = f.sent.find((m) => m.kind === "export");
    expect(req).toMatchObject({
      filters: {
        types: ["stream"],
        text: "hello",
        cleared_seq: 3,
        show_status: false,
        show_own: false,
      },
    });
    expect(button.disabled).toBe(true);
    expect(button.dataset.state).toBe("pending");
    const trace = '{"type": "header"}\n{"type": "message"}\n';
    f.emit("msg:custom", { kind: "export", id: req?.id, name: "1b2c3d4e-x.jsonl", messages: 1 }, [
      bytes(trace),
    ]);
    await settle();
    expect(downloads.map((d) => d.name)).toEqual(["1b2c3d4e-x.jsonl"]);
    expect(await downloads[0].blob.text()).toBe(trace);
    expect(button.disabled).toBe(false);
    expect(button.dataset.state).toBe("done");
    expect(button.dataset.file).toBe("1b2c3d4e-x.jsonl");
  });

  it("says why an export failed, and downloads nothing", async () => {
    const { f, el } = render();
    const button = el.querySelector("[data-role=export]") as HTMLButtonElement;
    button.click();
    const req = f.sent.find((m) => m.kind === "export");
    f.emit("msg:custom", { kind: "error", id: req?.id, message: "disk full" }, []);
    await settle();
    expect(downloads).toEqual([]);
    expect(button.dataset.state).toBe("failed");
    expect(button.title).toContain("disk full");
    expect(button.disabled).toBe(false);
  });
});

describe("copy as diagram", () => {
  it("asks for the thread's diagram by its request's msg_id and copies the answer", async () => {
    const { f, el } = render({ view: "threaded" });
    const p = { parent_id: "r1", parent_type: "execute_request", parent_session: "s" };
    f.custom({ kind: "rows" }, [
      row(1, { msg_type: "execute_input", code: "x=1", ...p }),
      row(2, { msg_type: "stream", summary: "stdout: 1", ...p }),
    ]);
    await settle();
    const button = el.querySelector(
      ".jpf-thread-head [data-role=copy-diagram]",
    ) as HTMLButtonElement;
    button.click();
    const req = f.sent.find((m) => m.kind === "diagram");
    expect(req).toMatchObject({ msg_id: "r1" });
    // the click copies; it does not collapse the thread
    expect(el.querySelector(".jpf-thread-head")?.getAttribute("aria-expanded")).toBe("true");
    const text = "```mermaid\nsequenceDiagram\n```\n";
    f.emit("msg:custom", { kind: "diagram", id: req?.id }, [bytes(text)]);
    await settle();
    expect(copied).toEqual([text]);
    expect(button.dataset.copied).toBe("true");
  });

  it("offers no diagram for a comm thread", async () => {
    const { f, el } = render({ view: "threaded" });
    f.custom({ kind: "rows" }, [
      row(1, { msg_type: "comm_open", comm_id: "c1", summary: "jupyter.widget" }),
      row(2, { msg_type: "comm_msg", comm_id: "c1" }),
    ]);
    await settle();
    expect(el.querySelector(".jpf-thread-head")).not.toBeNull();
    expect(el.querySelector("[data-role=copy-diagram]")).toBeNull();
  });
});

describe("decoding the answers", () => {
  it("reads the trace's bytes and the diagram's text from buffers[0]", () => {
    const e = decodeMessage({ kind: "export", id: 3, name: "n.jsonl", messages: 2 }, [
      bytes("abc"),
    ]);
    expect(e).toMatchObject({ kind: "export", id: 3, name: "n.jsonl", messages: 2 });
    expect(e.kind === "export" && new TextDecoder().decode(e.bytes)).toBe("abc");
    expect(decodeMessage({ kind: "diagram", id: 4 }, [bytes("sequenceDiagram")])).toEqual({
      kind: "diagram",
      id: 4,
      text: "sequenceDiagram",
    });
    // no buffer: an empty file, an empty diagram (never an exception)
    const empty = decodeMessage({ kind: "export", id: 5 }, []);
    expect(empty.kind === "export" && empty.bytes.length).toBe(0);
    expect(decodeMessage({ kind: "diagram", id: 6 }, undefined)).toMatchObject({ text: "" });
  });
});
