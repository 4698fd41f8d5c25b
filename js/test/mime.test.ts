import { describe, expect, it } from "vitest";
import { chooseMime, mimeKind, orderMimes } from "../src/mime";

describe("chooseMime", () => {
  it("prefers the richest safe type", () => {
    expect(chooseMime(["text/plain", "text/html", "image/png"])).toBe("image/png");
    expect(chooseMime(["text/plain", "image/jpeg", "image/svg+xml"])).toBe("image/jpeg");
    expect(chooseMime(["text/plain", "text/html", "image/svg+xml"])).toBe("image/svg+xml");
    expect(chooseMime(["text/plain", "text/html"])).toBe("text/html");
    expect(chooseMime(["text/plain", "text/markdown"])).toBe("text/markdown");
    expect(chooseMime(["text/plain", "application/json"])).toBe("application/json");
    expect(chooseMime(["text/plain"])).toBe("text/plain");
  });
  it("never prefers javascript over plain text", () => {
    expect(chooseMime(["application/javascript", "text/plain"])).toBe("text/plain");
    expect(chooseMime(["application/javascript", "application/vnd.custom"])).toBe(
      "application/vnd.custom",
    );
    expect(chooseMime(["application/javascript"])).toBe("application/javascript");
  });
  it("handles empty and unknown bundles", () => {
    expect(chooseMime([])).toBe("");
    expect(chooseMime(["application/vnd.jupyter.widget-view+json", "text/plain"])).toBe(
      "text/plain",
    );
  });
  it("orders the chooser and classifies kinds", () => {
    expect(orderMimes(["text/plain", "x/y", "image/png"])).toEqual([
      "image/png",
      "text/plain",
      "x/y",
    ]);
    expect(mimeKind("image/png")).toBe("image");
    expect(mimeKind("image/svg+xml")).toBe("svg");
    expect(mimeKind("text/html")).toBe("html");
    expect(mimeKind("application/vnd.jupyter.widget-view+json")).toBe("json");
    expect(mimeKind("application/javascript")).toBe("source");
    expect(mimeKind("text/markdown")).toBe("text");
  });
});
