// @vitest-environment jsdom
import { describe, expect, it, vi } from "vitest";
import { connectionSummary, emptyListText } from "../src/header";
import { buildPicker, pickerCells, sortKernels, toKernels } from "../src/picker";
import { formatRelative } from "../src/time";

const NOW = Date.parse("2026-11-29T16:30:00Z");

const raw = [
  {
    kernel_id: "aaaa1111-2222-3333-4444-555566667777",
    kernel_name: "python3",
    notebook: "work/target.ipynb",
    execution_state: "idle",
    connections: 1,
    last_activity: "2026-11-29T16:27:00.123456Z",
    server_url: "http://127.0.0.1:8888/",
    connection_file: "/run/kernel-aaaa1111.json",
  },
  {
    kernel_id: "bbbb",
    kernel_name: "",
    notebook: "",
    execution_state: "busy",
    connections: null,
    last_activity: "",
    server_url: "",
    connection_file: "/run/kernel-bbbb.json",
  },
  { kernel_name: "no id: left out" },
  "junk",
  { kernel_id: "cccc", notebook: "a.ipynb", connections: "2", own: true },
];

describe("formatRelative", () => {
  it("says how long ago, coarsely", () => {
    expect(formatRelative("2026-11-29T16:27:00.123456Z", NOW)).toBe("2 min ago");
    expect(formatRelative(NOW - 3 * 60_000, NOW)).toBe("3 min ago");
    expect(formatRelative(NOW - 2000, NOW)).toBe("just now");
    expect(formatRelative(NOW + 60_000, NOW)).toBe("just now"); // clock skew
    expect(formatRelative(NOW - 42_000, NOW)).toBe("42 s ago");
    expect(formatRelative(NOW - 5 * 3600_000, NOW)).toBe("5 h ago");
    expect(formatRelative(NOW - 3 * 86400_000, NOW)).toBe("3 d ago");
    expect(formatRelative("", NOW)).toBe("");
    expect(formatRelative("not a date", NOW)).toBe("");
  });
});

describe("picker rows", () => {
  const kernels = toKernels(raw);
  it("parses the kernels trait leniently", () => {
    expect(kernels.map((k) => k.kernel_id)).toEqual([
      "aaaa1111-2222-3333-4444-555566667777",
      "bbbb",
      "cccc",
    ]);
    expect(kernels[1].connections).toBeNull();
    expect(kernels[2].connections).toBe(2);
    expect(kernels[2].kernel_name).toBe("");
    expect(kernels.map((k) => k.own)).toEqual([false, false, true]);
    expect(toKernels(null)).toEqual([]);
    expect(toKernels({ kernel_id: "x" })).toEqual([]);
  });
  it("formats a row", () => {
    const c = pickerCells(kernels[0], NOW);
    expect(c).toMatchObject({
      notebook: "work/target.ipynb",
      kernelName: "python3",
      state: "idle",
      connections: "1 connection",
      activity: "2 min ago",
      server: "http://127.0.0.1:8888/",
      shortId: "aaaa1111",
    });
    expect(c.title).toContain("aaaa1111-2222-3333-4444-555566667777");
    expect(c.title).toContain("/run/kernel-aaaa1111.json");
    const d = pickerCells(kernels[1], NOW);
    expect(d).toMatchObject({
      notebook: "(no notebook)",
      kernelName: "?",
      connections: "? connections",
      activity: "activity unknown",
      server: "(local, no server)",
    });
    expect(pickerCells(kernels[2], NOW).connections).toBe("2 connections");
  });
  it("lists kernels with a notebook first", () => {
    expect(sortKernels(kernels).map((k) => k.kernel_id)).toEqual([
      "cccc",
      "aaaa1111-2222-3333-4444-555566667777",
      "bbbb",
    ]);
  });
  it("builds the panel: rows, error, empty state, actions", () => {
    const act = { refresh: vi.fn(), attach: vi.fn(), close: vi.fn() };
    const st = {
      kernels,
      error: "",
      refreshing: false,
      current: "bbbb",
      closable: true,
      now: NOW,
    };
    const panel = buildPicker(st, act);
    expect(panel.dataset.role).toBe("picker");
    const rows = panel.querySelectorAll<HTMLElement>("[data-role=picker-row]");
    expect(rows.length).toBe(3);
    expect(rows[0].dataset.kernelId).toBe("cccc");
    expect(rows[2].getAttribute("aria-current")).toBe("true");
    expect(rows[1].textContent).toContain("work/target.ipynb");
    expect(rows[1].textContent).toContain("2 min ago");
    expect(rows[0].querySelector("[data-field=own]")?.textContent).toBe("this monitor's kernel");
    expect(rows[1].querySelector("[data-field=own]")).toBeNull();
    expect(panel.querySelector("[data-role=picker-error]")).toBeNull();
    rows[1].click();
    expect(act.attach).toHaveBeenCalledWith("aaaa1111-2222-3333-4444-555566667777");
    (panel.querySelector("[data-role=picker-refresh]") as HTMLElement).click();
    expect(act.refresh).toHaveBeenCalled();
    (panel.querySelector("[data-role=picker-close]") as HTMLElement).click();
    expect(act.close).toHaveBeenCalled();

    const empty = buildPicker(
      { ...st, kernels: [], error: "<b>server said no</b>", closable: false },
      act,
    );
    expect(empty.querySelector("[data-role=picker-empty]")?.textContent).toBe(
      "no running kernels found",
    );
    const err = empty.querySelector("[data-role=picker-error]");
    expect(err?.textContent).toBe("<b>server said no</b>"); // text, never HTML
    expect(err?.querySelector("b")).toBeNull();
    expect(empty.querySelector("[data-role=picker-close]")).toBeNull();
  });
});

describe("header texts", () => {
  it("shows ports for a local attach and server, notebook, protocol for a remote one", () => {
    const local = connectionSummary({
      transport: "tcp",
      ip: "127.0.0.1",
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
      kernel_name: "python3",
      connection_file: "/run/k.json",
    });
    expect(local.text).toBe("tcp://127.0.0.1 · shell 1 iopub 2 stdin 3 control 4 hb 5");
    expect(local.title).toContain("/run/k.json");
    const remote = connectionSummary({
      transport: "websocket",
      server_url: "http://127.0.0.1:8888/",
      kernel_id: "k1",
      kernel_name: "python3",
      notebook: "target.ipynb",
      protocol: "v1.kernel.websocket.jupyter.org",
      websocket: "ws://127.0.0.1:8888/api/kernels/k1/channels",
    });
    expect(remote.text).toBe(
      "http://127.0.0.1:8888/ · target.ipynb · protocol v1.kernel.websocket.jupyter.org",
    );
    expect(remote.text).not.toContain("shell");
    expect(remote.title).toContain("kernel id k1");
    expect(connectionSummary({ transport: "websocket" }).text).toContain("(no notebook)");
    expect(connectionSummary({}).text).toBe("");
  });
  it("says nothing under an error, 'not attached' without a kernel", () => {
    const base = { held: 0, shown: 0, historyAsked: true, target: "k1" };
    expect(emptyListText({ ...base, status: "failed" })).toBe("");
    expect(emptyListText({ ...base, status: "dead" })).toBe("");
    expect(emptyListText({ ...base, status: "closed" })).toBe("not attached");
    expect(emptyListText({ ...base, status: "connecting", target: "" })).toBe("not attached");
    expect(emptyListText({ ...base, status: "connected" })).toBe("waiting for messages…");
    expect(emptyListText({ ...base, status: "connected", held: 3 })).toBe(
      "no rows match the filters",
    );
    expect(emptyListText({ ...base, status: "failed", held: 3, shown: 3 })).toBe("");
  });
});
