import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatIsoTime, formatTime, shortId } from "../src/time";

describe("formatTime", () => {
  it("zero-pads every field", () => {
    expect(formatTime(new Date(2026, 0, 2, 3, 4, 5, 6).getTime())).toBe("03:04:05.006");
    expect(formatTime(new Date(2026, 10, 29, 23, 59, 59, 999).getTime())).toBe("23:59:59.999");
    expect(formatTime(new Date(2026, 10, 29, 0, 0, 0, 0).getTime())).toBe("00:00:00.000");
  });
  it("drops sub-millisecond fractions", () => {
    expect(formatTime(new Date(2026, 0, 2, 3, 4, 5, 70).getTime() + 0.4)).toBe("03:04:05.070");
  });
  it("is empty for non-numbers", () => {
    expect(formatTime(Number.NaN)).toBe("");
    expect(formatTime(undefined as unknown as number)).toBe("");
  });
  it("formats ISO dates and keeps unparsable ones", () => {
    const iso = new Date(2026, 0, 2, 3, 4, 5, 6).toISOString();
    expect(formatIsoTime(iso)).toBe("03:04:05.006");
    expect(formatIsoTime("not a date")).toBe("not a date");
    expect(formatIsoTime("")).toBe("");
  });
});

describe("formatDuration / formatBytes / shortId", () => {
  it("formats durations", () => {
    expect(formatDuration(5)).toBe("5 ms");
    expect(formatDuration(1250)).toBe("1.25 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(-1)).toBe("");
  });
  it("formats sizes", () => {
    expect(formatBytes(412)).toBe("412 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(3.5 * 1024 * 1024)).toBe("3.5 MB");
  });
  it("shortens ids", () => {
    expect(shortId("1b2c3d4e5f6a")).toBe("1b2c3d4e");
    expect(shortId("")).toBe("");
  });
});
