// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import {
  buildRouteChips,
  CLIENT_COLOURS,
  clientColour,
  clientTag,
  directionMark,
  fillRoute,
  routeKey,
  routeSpan,
  showsRoute,
} from "../src/clients";
import { captureNote, TAP_COMMAND } from "../src/header";
import { row } from "./helpers";

describe("client colours", () => {
  it("are chosen from the id alone, within the palette, and spread over it", () => {
    expect(clientColour("a1b2c3")).toBe(clientColour("a1b2c3"));
    const used = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const c = clientColour(`client-${i}`);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThan(CLIENT_COLOURS);
      used.add(c);
    }
    expect(used.size).toBe(CLIENT_COLOURS);
    // ids that differ only in their last characters get different colours too
    const similar = ["clientb1", "clientc2", "clientd3", "cliente4", "clientf5", "clientg6"];
    expect(new Set(similar.map(clientColour)).size).toBeGreaterThanOrEqual(4);
    expect(clientColour("")).toBe(clientColour(""));
  });
});

describe("direction marks and client tags", () => {
  it("marks the direction with an arrow and words for assistive tech", () => {
    const to = directionMark("to_kernel");
    expect(to.textContent).toBe("→");
    expect(to.getAttribute("aria-label")).toBe("to the kernel");
    expect(to.title).toBe("to the kernel");
    expect(to.dataset.direction).toBe("to_kernel");
    const from = directionMark("from_kernel");
    expect(from.textContent).toBe("←");
    expect(from.getAttribute("aria-label")).toBe("from the kernel");
  });
  it("tags a client with its id in its colour (long ids cut, the title has all)", () => {
    const tag = clientTag("c0ffee");
    expect(tag.textContent).toBe("c0ffee");
    expect(tag.dataset.client).toBe("c0ffee");
    expect(tag.classList.contains(`jpf-client-${clientColour("c0ffee")}`)).toBe(true);
    const long = clientTag("0123456789abcdef");
    expect(long.textContent).toBe("01234567");
    expect(long.title).toBe("client 0123456789abcdef");
  });
  it("shows a route on requests and replies, not on iopub or markers", () => {
    const req = row(1, { channel: "shell", direction: "to_kernel", client: "c1" });
    expect(showsRoute(req)).toBe(true);
    expect(showsRoute(row(2))).toBe(false);
    expect(showsRoute(row(3, { channel: "monitor", direction: "" }))).toBe(false);
    const span = routeSpan(req);
    expect(span.querySelector("[data-direction=to_kernel]")?.textContent).toBe("→");
    expect(span.querySelector(".jpf-client")?.textContent).toBe("c1");
    expect(routeSpan(row(4)).childElementCount).toBe(0);
    // refilled in place for another row
    fillRoute(span, row(5, { channel: "stdin", direction: "from_kernel", client: "c2" }));
    expect(span.textContent).toBe("←c2");
    fillRoute(span, row(6));
    expect(span.childElementCount).toBe(0);
    expect(routeKey(req)).toBe("to_kernel|c1");
    expect(routeKey(row(7))).toBe("");
  });
});

describe("route chips", () => {
  it("lists both directions and the clients seen (and chosen), pressed when chosen", () => {
    const toggled: string[] = [];
    const chips = buildRouteChips({
      directions: ["to_kernel"],
      clients: ["gone"],
      seen: [
        ["a1", 3],
        ["b2", 1],
      ],
      showDirections: true,
      toggleDirection: (d) => toggled.push(`d:${d}`),
      toggleClient: (c) => toggled.push(`c:${c}`),
    });
    const host = document.createElement("div");
    host.append(...chips);
    const dirs = [...host.querySelectorAll<HTMLElement>("[data-role=filter-direction]")];
    expect(dirs.map((b) => [b.dataset.direction, b.getAttribute("aria-pressed")])).toEqual([
      ["to_kernel", "true"],
      ["from_kernel", "false"],
    ]);
    const clients = [...host.querySelectorAll<HTMLElement>("[data-role=filter-client]")];
    expect(clients.map((b) => [b.dataset.client, b.getAttribute("aria-pressed")])).toEqual([
      ["a1", "false"],
      ["b2", "false"],
      ["gone", "true"],
    ]);
    dirs[1].click();
    clients[0].click();
    expect(toggled).toEqual(["d:from_kernel", "c:a1"]);
    // nothing to choose from: no chips
    expect(
      buildRouteChips({
        directions: [],
        clients: [],
        seen: [],
        showDirections: false,
        toggleDirection: () => {},
        toggleClient: () => {},
      }),
    ).toEqual([]);
  });
});

describe("capture note", () => {
  it("says full capture through a tap, what is missing and how to get it otherwise", () => {
    expect(captureNote("tap")).toMatchObject({ kind: "badge", text: "full capture" });
    for (const capture of ["iopub", "server"]) {
      const note = captureNote(capture);
      expect(note.kind).toBe("note");
      expect(note.text).toContain("other clients' requests and replies");
      expect(note.command).toBe(TAP_COMMAND);
      expect(note.after).toContain("(tapped)");
    }
    expect(captureNote("server").text).toContain("Jupyter server");
    expect(captureNote("").kind).toBe("");
  });
});
