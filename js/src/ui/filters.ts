/**
 * The filter chips of the toolbar: channels (control and stdin through a tap), directions
 * (through a tap, or once a request was seen) and clients (once one was seen). "Show only"
 * toggles: none pressed = all.
 */
import { buildRouteChips } from "../clients";
import { h } from "../dom";
import type { Counters } from "../types";
import { asObj, asString, drawOnTraffic, type Mount } from "./view";

export function toggleIn(list: readonly string[], v: string): string[] {
  return list.includes(v) ? list.filter((x) => x !== v) : [...list, v];
}

export const mountFilters: Mount = (parent, v) => {
  const s = v.s;
  const m = v.model;
  const channels = h("div", { class: "jpf-chips jpf-channel-chips" });
  const routes = h("div", { class: "jpf-chips jpf-route-chips" });
  parent.append(channels, routes);
  let channelsKey = "";
  let routesKey = "";

  const drawChannels = (tapped: boolean) => {
    const c = asObj(m.get("counters")) as Counters;
    const byChan =
      c.by_channel && Object.keys(c.by_channel).length
        ? new Map(Object.entries(c.by_channel))
        : s.counts.channels;
    const base = tapped
      ? ["iopub", "shell", "control", "stdin", "monitor"]
      : ["iopub", "shell", "monitor"];
    const chans = [...base, ...[...byChan.keys()].filter((k) => !base.includes(k))];
    const f = s.filter.filters;
    const key = JSON.stringify([chans, f.channels]);
    if (key !== channelsKey) {
      channelsKey = key;
      channels.replaceChildren(
        ...chans.map((ch) => {
          const b = h(
            "button",
            {
              type: "button",
              class: "jpf-chip",
              "data-role": "filter-channel",
              "data-channel": ch,
              "aria-pressed": String(f.channels.includes(ch)),
            },
            ch,
          );
          b.addEventListener("click", () =>
            s.save("filter_channels", toggleIn(s.filter.filters.channels, ch)),
          );
          return b;
        }),
      );
    }
    for (const b of channels.querySelectorAll<HTMLElement>("[data-role=filter-channel]")) {
      const title = `${byChan.get(b.dataset.channel ?? "") ?? 0} messages`;
      if (b.title !== title) b.title = title;
    }
  };

  const drawRoutes = (tapped: boolean) => {
    const f = s.filter.filters;
    const seen = [...s.counts.clients.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    const showDirections = tapped || s.counts.seenToKernel;
    const ids = seen.map(([c]) => c);
    // Counts only change the chips' titles: rebuild when the chips themselves change.
    const key = JSON.stringify([showDirections, ids, f.directions, f.clients]);
    if (key !== routesKey) {
      routesKey = key;
      routes.replaceChildren(
        ...buildRouteChips({
          directions: f.directions,
          clients: f.clients,
          seen,
          showDirections,
          toggleDirection: (d) =>
            s.save("filter_directions", toggleIn(s.filter.filters.directions, d)),
          toggleClient: (c) => s.save("filter_clients", toggleIn(s.filter.filters.clients, c)),
        }),
      );
    }
    for (const b of routes.querySelectorAll<HTMLElement>("[data-role=filter-client]")) {
      const n = s.counts.clients.get(b.dataset.client ?? "") ?? 0;
      const title = `Show only client ${b.dataset.client}'s requests and replies (and iopub) · ${n} messages`;
      if (b.title !== title) b.title = title;
    }
  };

  const d = drawOnTraffic(v, () => {
    const tapped = asString(m.get("capture")) === "tap";
    drawChannels(tapped);
    drawRoutes(tapped);
  }, ["change:capture"]);
  return () => {
    d.dispose();
    channels.remove();
    routes.remove();
  };
};
