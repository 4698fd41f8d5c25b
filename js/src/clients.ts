/**
 * Who a message went between: the direction mark (to or from the kernel) and the client tag (a
 * pill coloured per client) of shell/control/stdin rows, and the direction and client filter
 * chips. Through a tap the monitor sees every client's requests and replies; iopub goes to
 * every client, so its rows carry no client.
 */
import { h } from "./dom";
import type { Row } from "./types";

/** The fields of a row its route is drawn from. */
export type RouteOf = Pick<Row, "channel" | "direction" | "client">;

export const TO_KERNEL = "to_kernel";
export const FROM_KERNEL = "from_kernel";
export const DIRECTIONS: readonly string[] = [TO_KERNEL, FROM_KERNEL];

/** Number of client colours (`--jpf-client-0` … in widget.css). */
export const CLIENT_COLOURS = 8;

/** Client ids are short already; longer ones are cut for the pill (the title has all of it). */
const CLIENT_CHARS = 8;

/**
 * A colour index in [0, CLIENT_COLOURS) for a client id, from the id alone (the same id gets the
 * same colour in every view): FNV-1a, then murmur3's finalizer, whose low bits (the ones `%`
 * keeps) depend on every character; FNV-1a's own low bits do not mix, and ids that differ in
 * their last characters ("clientb1", "clientc2") would all get one colour.
 */
export function clientColour(id: string): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    x ^= id.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) % CLIENT_COLOURS;
}

/** Words for a direction (titles, aria labels, chips). */
export function directionWords(direction: string): string {
  return direction === TO_KERNEL
    ? "to the kernel"
    : direction === FROM_KERNEL
      ? "from the kernel"
      : "";
}

/** Whether a row shows its direction mark: requests and replies (not iopub, not markers). */
export function showsRoute(row: RouteOf): boolean {
  return row.channel !== "iopub" && row.channel !== "monitor" && row.direction !== "";
}

/** The direction mark: "→" to the kernel, "←" from it. */
export function directionMark(direction: string): HTMLElement {
  const words = directionWords(direction);
  return h(
    "span",
    {
      class: `jpf-dir jpf-dir-${direction}`,
      "data-direction": direction,
      role: "img",
      title: words,
      "aria-label": words,
    },
    direction === TO_KERNEL ? "→" : direction === FROM_KERNEL ? "←" : "·",
  );
}

/** A client's pill: its short id, in its colour. */
export function clientTag(client: string): HTMLElement {
  return h(
    "span",
    {
      class: `jpf-client jpf-client-${clientColour(client)}`,
      "data-client": client,
      title: `client ${client}`,
    },
    client.length > CLIENT_CHARS ? client.slice(0, CLIENT_CHARS) : client,
  );
}

/** What a row's route span shows; rows with the same key show the same route. */
export function routeKey(row: RouteOf): string {
  return showsRoute(row) ? `${row.direction}|${row.client}` : "";
}

/** Fill a row's route span (`.jpf-route`): mark and pill, or nothing for iopub. */
export function fillRoute(route: HTMLElement, row: RouteOf): void {
  if (!showsRoute(row)) {
    if (route.firstChild) route.replaceChildren();
    return;
  }
  route.replaceChildren(
    directionMark(row.direction),
    row.client ? clientTag(row.client) : h("span", { class: "jpf-client jpf-client-none" }),
  );
}

/** A row's route span. */
export function routeSpan(row: RouteOf): HTMLElement {
  const route = h("span", { class: "jpf-route" });
  fillRoute(route, row);
  return route;
}

/**
 * The direction and client filter chips ("show only" toggles, none pressed = all).
 * `clients`: the clients seen, with their message counts.
 */
export function buildRouteChips(opts: {
  directions: readonly string[];
  clients: readonly string[];
  seen: readonly [string, number][];
  showDirections: boolean;
  toggleDirection: (d: string) => void;
  toggleClient: (c: string) => void;
}): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (opts.showDirections || opts.directions.length) {
    const group = h("span", {
      class: "jpf-chips jpf-direction-chips",
      role: "group",
      "aria-label": "direction",
    });
    for (const d of DIRECTIONS) {
      const b = h(
        "button",
        {
          type: "button",
          class: "jpf-chip",
          "data-role": "filter-direction",
          "data-direction": d,
          "aria-pressed": String(opts.directions.includes(d)),
          title: `Show only messages ${directionWords(d)}`,
        },
        d === TO_KERNEL ? "→ to kernel" : "← from kernel",
      );
      b.addEventListener("click", () => opts.toggleDirection(d));
      group.append(b);
    }
    out.push(group);
  }
  const ids = opts.seen.map(([c]) => c);
  for (const c of opts.clients) if (!ids.includes(c)) ids.push(c);
  if (ids.length) {
    const counts = new Map(opts.seen);
    const group = h(
      "span",
      { class: "jpf-chips jpf-client-chips", role: "group", "aria-label": "clients" },
      h("span", { class: "jpf-note" }, opts.clients.length ? "client only:" : "clients:"),
    );
    for (const c of ids) {
      const b = h(
        "button",
        {
          type: "button",
          class: "jpf-chip jpf-client-chip",
          "data-role": "filter-client",
          "data-client": c,
          "aria-pressed": String(opts.clients.includes(c)),
          title: `Show only client ${c}'s requests and replies (and iopub) · ${counts.get(c) ?? 0} messages`,
        },
        clientTag(c),
      );
      b.addEventListener("click", () => opts.toggleClient(c));
      group.append(b);
    }
    out.push(group);
  }
  return out;
}
