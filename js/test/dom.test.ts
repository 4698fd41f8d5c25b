// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { jsonTree } from "../src/json-tree";
import { renderBody, renderMime, renderRaw, TEXT_CAP, textBlock } from "../src/render";
import type { Body } from "../src/types";
import { row } from "./helpers";

function body(content: Record<string, unknown>, seq = 1): Body {
  return {
    seq,
    header: {},
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
    truncated: false,
  };
}

function deep(n: number): unknown {
  const root: Record<string, unknown> = {};
  let cur = root;
  for (let i = 0; i < n; i++) {
    const next: Record<string, unknown> = {};
    cur.a = next;
    cur = next;
  }
  return root;
}

describe("jsonTree", () => {
  it("opens lazily: depth 10,000 builds only the first levels", () => {
    const el = jsonTree(deep(10_000), { openDepth: 2 });
    expect(el.querySelectorAll(".jpf-jt-node").length).toBeLessThan(10);
    const toggles = el.querySelectorAll<HTMLButtonElement>(".jpf-jt-toggle");
    toggles[toggles.length - 1].click();
    expect(el.querySelectorAll(".jpf-jt-node").length).toBeLessThan(12);
  });
  it("pages big arrays and cuts long strings", () => {
    const el = jsonTree(
      { arr: Array.from({ length: 5000 }, (_, i) => i), s: "x".repeat(10_000_000) },
      { openDepth: 2 },
    );
    expect(el.querySelectorAll(".jpf-jt-number").length).toBe(100);
    const str = el.querySelector(".jpf-jt-str") as HTMLElement;
    expect(str.textContent?.length).toBeLessThan(1100);
    const more = [...el.querySelectorAll<HTMLButtonElement>(".jpf-more")].find((b) =>
      b.textContent?.includes("of"),
    );
    more?.click();
    expect(el.querySelectorAll(".jpf-jt-number").length).toBe(200);
  });
});

describe("render", () => {
  it("caps text with a show-more control", () => {
    const el = textBlock("y".repeat(TEXT_CAP + 50), "", false);
    expect(el.querySelector("pre")?.textContent?.length).toBe(TEXT_CAP);
    (el.querySelector(".jpf-more") as HTMLButtonElement).click();
    expect(el.querySelector("pre")?.textContent?.length).toBe(TEXT_CAP + 50);
    expect(el.querySelector(".jpf-more")).toBeNull();
  });
  it("renders a display bundle with the richest mime and switches in place", () => {
    const r = row(1, { msg_type: "display_data", mimes: ["image/png", "text/html", "text/plain"] });
    const b = body({
      data: {
        "image/png": "iVBORw0KGgo=",
        "text/html": "<b>hi</b><script>x()</script>",
        "text/plain": "p",
      },
      metadata: {},
    });
    const chosen = new Map<number, string>();
    const el = renderBody(r, b, { mimeChoice: chosen, onResize: () => {} });
    const sel = el.querySelector("select[data-role=mime-select]") as HTMLSelectElement;
    expect(sel.value).toBe("image/png");
    expect(el.querySelector("img")?.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    sel.value = "text/html";
    sel.dispatchEvent(new Event("change"));
    expect(el.querySelector(".jpf-mime-html b")?.textContent).toBe("hi");
    expect(el.querySelector("script")).toBeNull();
    expect(chosen.get(1)).toBe("text/html");
  });
  it("shows javascript as source and never as a script element", () => {
    const el = renderMime("application/javascript", "alert(1)");
    expect(el.querySelector("script")).toBeNull();
    expect(el.textContent).toContain("alert(1)");
  });
  it("refuses non-base64 image data", () => {
    const el = renderMime("image/png", '" onerror="alert(1)');
    expect(el.querySelector("img")).toBeNull();
  });
  it("renders stream, error and comm bodies", () => {
    const s = renderBody(row(1), body({ name: "stderr", text: "\u001b[31mbad\u001b[0m" }), {
      mimeChoice: new Map(),
      onResize: () => {},
    });
    expect(s.querySelector(".jpf-stderr")).not.toBeNull();
    expect(s.querySelector(".jpf-stderr span span")).not.toBeNull();
    const e = renderBody(
      row(2, { msg_type: "error" }),
      body({ ename: "E", evalue: "v", traceback: ["\u001b[31mTB\u001b[0m"] }),
      { mimeChoice: new Map(), onResize: () => {} },
    );
    expect(e.textContent).toContain("E: v");
    const c = renderBody(
      row(3, { msg_type: "comm_open" }),
      body({ comm_id: "c1", target_name: "t", data: { x: 1 } }),
      { mimeChoice: new Map(), onResize: () => {} },
    );
    expect(c.textContent).toContain("target t");
    expect(c.querySelector(".jpf-jt")).not.toBeNull();
  });
  it("renders raw JSON of deep content without throwing", () => {
    const el = renderRaw(body({ deep: deep(10_000) }));
    expect(el.getAttribute("data-role")).toBe("raw-json");
    expect(el.textContent).toContain("deeper");
  });
});
