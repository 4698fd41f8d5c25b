/** The toolbar: mode buttons, pause, clear, the status/own checks, the filter text, the paused note. */
import { effect } from "@preact/signals-core";
import { h, setText } from "../dom";
import { VIEW_MODES } from "../types";
import type { Mount } from "./view";

export const mountToolbar: Mount = (parent, v) => {
  const s = v.s;
  const modes = h("div", { class: "jpf-modes", role: "group", "aria-label": "view mode" });
  for (const m of VIEW_MODES) {
    const b = h(
      "button",
      {
        type: "button",
        class: "jpf-btn jpf-mode",
        "data-role": "mode",
        "data-mode": m,
        title: `${m} (${m[0]} or ${VIEW_MODES.indexOf(m) + 1})`,
      },
      m,
    );
    b.addEventListener("click", () => s.chooseMode(m));
    modes.append(b);
  }
  const density = h(
    "button",
    {
      type: "button",
      "data-role": "density",
      class: "jpf-btn",
      title: "One line per message (for floods), or each message's content inline",
    },
    "compact",
  );
  density.addEventListener("click", () =>
    s.chooseDensity(s.density === "compact" ? "comfortable" : "compact"),
  );
  const pause = h("button", { type: "button", "data-role": "pause", class: "jpf-btn" });
  pause.addEventListener("click", () => s.save("paused", !s.listing.paused));
  const clear = h(
    "button",
    {
      type: "button",
      "data-role": "clear",
      class: "jpf-btn",
      title: "Hide the rows captured so far",
    },
    "Clear",
  );
  clear.addEventListener("click", () => {
    if (s.window.store.lastSeq >= 0) s.save("cleared_seq", s.window.store.lastSeq);
  });
  const showStatus = h("input", { type: "checkbox", "data-role": "show-status" });
  showStatus.addEventListener("change", () => s.save("show_status", showStatus.checked));
  const onlyProblems = h("input", { type: "checkbox", "data-role": "only-problems" });
  onlyProblems.addEventListener("change", () => s.save("only_problems", onlyProblems.checked));
  const showOwn = h("input", { type: "checkbox", "data-role": "show-own" });
  showOwn.addEventListener("change", () => s.setShowOwn(showOwn.checked));
  const filterText = h("input", {
    type: "search",
    "data-role": "filter-text",
    placeholder: "filter: text, msg_type:stream, content.data.method:update…",
    "aria-label": "filter text",
    title: "Free text and field:value terms; -term negates, OR between groups, * is a wildcard",
  });
  // A malformed query is not applied: why, next to the box (the list keeps the last good one).
  const filterError = h("span", {
    class: "jpf-filter-error",
    "data-role": "filter-error",
    "aria-live": "polite",
  });
  let textFrame = 0;
  // Applied at the next frame (the model saves it to the trait after a pause in typing).
  filterText.addEventListener("input", () => {
    if (textFrame) return;
    textFrame = requestAnimationFrame(() => {
      textFrame = 0;
      s.typeText(filterText.value);
    });
  });
  const pausedNote = h("span", { class: "jpf-paused-note" });
  const filters = h("span", { class: "jpf-filters-slot" });
  const bar = h(
    "div",
    { class: "jpf-toolbar" },
    modes,
    density,
    pause,
    clear,
    h("label", { class: "jpf-check", title: "Also list status messages" }, showStatus, " status"),
    h(
      "label",
      {
        class: "jpf-check",
        title:
          "Also list the monitor's own probes: its kernel_info replies and the status messages they cause",
      },
      showOwn,
      " own",
    ),
    h(
      "label",
      { class: "jpf-check", title: "List only the messages that break the messaging spec" },
      onlyProblems,
      " ⚠ problems",
    ),
    filters,
    filterText,
    filterError,
    pausedNote,
  );
  parent.append(bar);

  const draw = () => {
    const f = s.filter.filters;
    // Do not overwrite what the user is typing (focused, or a save still pending).
    if (document.activeElement !== filterText && s.filter.typedText === null)
      filterText.value = f.text;
    setText(filterError, s.filter.error);
    filterText.setAttribute("aria-invalid", String(s.filter.error !== ""));
    showStatus.checked = f.showStatus;
    showOwn.checked = f.showOwn === true;
    onlyProblems.checked = f.onlyProblems === true;
    v.root.dataset.view = s.mode;
    v.root.dataset.density = s.density;
    density.setAttribute("aria-pressed", String(s.density === "compact"));
    for (const b of modes.querySelectorAll<HTMLButtonElement>("[data-role=mode]")) {
      b.setAttribute("aria-pressed", String(b.dataset.mode === s.mode));
    }
    setText(pause, s.listing.paused ? "Resume" : "Pause");
    pause.setAttribute("aria-pressed", String(s.listing.paused));
    setText(
      pausedNote,
      s.listing.paused
        ? `paused${s.listing.pendingWhilePaused ? ` · ${s.listing.pendingWhilePaused} new` : ""}`
        : "",
    );
  };
  const offSettings = effect(() => {
    s.settingsTick.value;
    draw();
  });
  const offRows = effect(() => {
    s.rowsTick.value;
    if (s.listing.paused) draw();
  });
  return () => {
    offSettings();
    offRows();
    if (textFrame) cancelAnimationFrame(textFrame);
    bar.remove();
  };
};

/** Where the toolbar (mounted in `root`) keeps the filter chips (channels, directions, clients). */
export function filtersSlot(root: HTMLElement): HTMLElement {
  return root.querySelector(".jpf-toolbar .jpf-filters-slot") as HTMLElement;
}
