import { describe, expect, it } from "vitest";
import { capText, safeStringify } from "../src/json";
import { decodeJsonBuffer, decodeMessage, toRow } from "../src/protocol";

function deep(n: number): unknown {
  let v: unknown = "bottom";
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

describe("safeStringify", () => {
  it("matches JSON.stringify on ordinary values", () => {
    const v = { a: [1, "x", null, true, { b: [] }], c: {}, d: 1.5 };
    expect(safeStringify(v).text).toBe(JSON.stringify(v, null, 2));
    expect(safeStringify("s").text).toBe('"s"');
  });
  it("survives depth 10,000 and caps the depth", () => {
    const r = safeStringify(deep(10_000), { maxDepth: 50 });
    expect(r.truncated).toBe(true);
    expect(r.text).toContain("keys deeper");
    const full = safeStringify(deep(10_000), { maxDepth: 20_000, maxChars: 1e9 });
    expect(full.text).toContain('"bottom"');
  });
  it("caps huge strings and total size", () => {
    const r = safeStringify({ s: "x".repeat(10_000_000) }, { maxString: 1000 });
    expect(r.text.length).toBeLessThan(2000);
    expect(r.text).toContain("more characters");
    const arr = Array.from({ length: 100_000 }, (_, i) => i);
    const c = safeStringify(arr, { maxChars: 1000 });
    expect(c.truncated).toBe(true);
    expect(c.text.length).toBeLessThan(1200);
  });
  it("caps text", () => {
    expect(capText("abcdef", 4)).toEqual({ text: "abcd", cut: 2 });
    expect(capText("ab", 4)).toEqual({ text: "ab", cut: 0 });
  });
});

describe("protocol", () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  it("decodes JSON from DataView, typed array and ArrayBuffer, honouring the byte range", () => {
    const bytes = enc([{ seq: 1 }]);
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    expect(decodeJsonBuffer([new DataView(padded.buffer, 4, bytes.length)])).toEqual([{ seq: 1 }]);
    expect(decodeJsonBuffer([bytes])).toEqual([{ seq: 1 }]);
    expect(decodeJsonBuffer([bytes.buffer])).toEqual([{ seq: 1 }]);
    expect(decodeJsonBuffer([])).toBeUndefined();
    expect(decodeJsonBuffer([enc("x").subarray(0, 2)])).toBeUndefined();
  });
  it("decodes messages leniently", () => {
    const m = decodeMessage({ kind: "history", id: 3, total: 2 }, [
      enc([{ seq: 1 }, { nope: 1 }, 7]),
    ]);
    expect(m.kind).toBe("history");
    if (m.kind === "history") {
      expect(m.rows.length).toBe(1);
      expect(m.rows[0].msg_type).toBe("unknown");
      expect(m.rows[0].mimes).toEqual([]);
    }
    expect(decodeMessage({ kind: "what" }, []).kind).toBe("unknown");
    const b = decodeMessage({ kind: "bodies", id: 1 }, [enc([{ seq: 2, content: null }])]);
    expect(b.kind === "bodies" && b.bodies[0].content).toEqual({});
    expect(toRow({ seq: "x" })).toBeNull();
  });
  it("keeps a well-formed row as parsed, fixes any other", () => {
    const good = {
      seq: 5,
      msg_id: "m",
      msg_type: "stream",
      channel: "iopub",
      direction: "from_kernel",
      client: "",
      t: 1.5,
      date: "",
      session: "",
      parent_id: "",
      parent_type: "",
      parent_session: "",
      parent_date: "",
      comm_id: "",
      summary: "hi",
      size: 3,
      state: "",
      mimes: ["text/plain"],
      own: false,
      code: "",
    };
    expect(toRow(good)).toBe(good);
    for (const bad of [
      { ...good, size: "3" },
      { ...good, mimes: [1] },
      { ...good, summary: null },
      { ...good, msg_type: "" },
      { ...good, own: 1 },
    ]) {
      const r = toRow(bad);
      expect(r).not.toBe(bad);
      expect(typeof r?.summary).toBe("string");
      expect(r?.mimes.every((x) => typeof x === "string")).toBe(true);
      expect(typeof r?.size).toBe("number");
      expect(r?.msg_type).toBeTruthy();
      expect(typeof r?.own).toBe("boolean");
    }
    // Rows from a Python without direction/client: from the kernel, no client (markers: none).
    const { direction: _d, client: _c, ...older } = good;
    expect(toRow(older)).toMatchObject({ direction: "from_kernel", client: "" });
    expect(toRow({ seq: 9, channel: "monitor", msg_type: "gap" })).toMatchObject({
      direction: "",
      client: "",
    });
    expect(toRow({ ...good, direction: "to_kernel", client: "c7" })).toMatchObject({
      direction: "to_kernel",
      client: "c7",
    });
  });
  it("parses depth-10,000 JSON from a buffer", () => {
    const text = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    expect(decodeJsonBuffer([new TextEncoder().encode(text)])).toBeDefined();
  });
});
