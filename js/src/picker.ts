/**
 * The kernel picker: the `kernels` trait as a list to attach from. Pure parts (lenient parsing,
 * row texts, ordering) are exported for tests; `buildPicker` makes the panel's DOM (text only).
 */
import { h } from "./dom";
import { formatRelative, shortId } from "./time";

export interface KernelEntry {
  kernel_id: string;
  kernel_name: string;
  notebook: string;
  execution_state: string;
  connections: number | null;
  last_activity: string;
  server_url: string;
  connection_file: string;
  /** The kernel this Monitor itself runs in (attaching to it is allowed: it watches itself). */
  own: boolean;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v == null ? "" : String(v);
}

/** Lenient entries from the `kernels` trait: items without a kernel_id are left out. */
export function toKernels(raw: unknown): KernelEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: KernelEntry[] = [];
  for (const item of raw) {
    if (!item || typeof item !== "object") continue;
    const k = item as Record<string, unknown>;
    const id = str(k.kernel_id);
    if (!id) continue;
    const conns = Number(k.connections);
    out.push({
      kernel_id: id,
      kernel_name: str(k.kernel_name),
      notebook: str(k.notebook),
      execution_state: str(k.execution_state),
      connections:
        k.connections === null || k.connections === undefined || !Number.isFinite(conns)
          ? null
          : conns,
      last_activity: str(k.last_activity),
      server_url: str(k.server_url),
      connection_file: str(k.connection_file),
      own: k.own === true,
    });
  }
  return out;
}

/** The texts of one picker row. */
export interface PickerCells {
  notebook: string;
  kernelName: string;
  state: string;
  connections: string;
  activity: string;
  server: string;
  shortId: string;
  /** The row's tooltip: full id, connection file, exact last activity. */
  title: string;
}

export function pickerCells(k: KernelEntry, now: number): PickerCells {
  const n = k.connections;
  return {
    notebook: k.notebook || "(no notebook)",
    kernelName: k.kernel_name || "?",
    state: k.execution_state || "unknown",
    connections: n === null ? "? connections" : `${n} connection${n === 1 ? "" : "s"}`,
    activity: formatRelative(k.last_activity, now) || "activity unknown",
    server: k.server_url || "(local, no server)",
    shortId: shortId(k.kernel_id),
    title: [
      `kernel id ${k.kernel_id}`,
      k.connection_file && `connection file ${k.connection_file}`,
      k.last_activity && `last activity ${k.last_activity}`,
    ]
      .filter(Boolean)
      .join("\n"),
  };
}

/**
 * Picker order: kernels with a notebook first (by path), then the others (by server, id);
 * the monitor's own kernel is not special-cased (Python decides what is listed).
 */
export function sortKernels(list: readonly KernelEntry[]): KernelEntry[] {
  return [...list].sort(
    (a, b) =>
      Number(!a.notebook) - Number(!b.notebook) ||
      a.notebook.localeCompare(b.notebook) ||
      a.server_url.localeCompare(b.server_url) ||
      a.kernel_id.localeCompare(b.kernel_id),
  );
}

export interface PickerState {
  kernels: KernelEntry[];
  error: string;
  /** A refresh was sent and not answered yet. */
  refreshing: boolean;
  /** The kernel the monitor is attached to ("" if none). */
  current: string;
  /** Whether the panel can be closed (there is a kernel to go back to). */
  closable: boolean;
  now: number;
}

export interface PickerActions {
  refresh(): void;
  attach(kernelId: string): void;
  close(): void;
}

/** The picker panel `[data-role=picker]`. */
export function buildPicker(st: PickerState, act: PickerActions): HTMLElement {
  const refresh = h(
    "button",
    {
      type: "button",
      class: "jpf-btn jpf-small",
      "data-role": "picker-refresh",
      title: "List the kernels again",
    },
    st.refreshing ? "refreshing…" : "refresh",
  );
  refresh.addEventListener("click", (ev) => {
    ev.stopPropagation();
    act.refresh();
  });
  const close = st.closable
    ? h(
        "button",
        { type: "button", class: "jpf-btn jpf-small", "data-role": "picker-close" },
        "cancel",
      )
    : null;
  close?.addEventListener("click", (ev) => {
    ev.stopPropagation();
    act.close();
  });
  const head = h(
    "div",
    { class: "jpf-picker-head" },
    h("span", { class: "jpf-picker-title" }, "Attach to a kernel"),
    h(
      "span",
      { class: "jpf-note" },
      `${st.kernels.length} kernel${st.kernels.length === 1 ? "" : "s"}`,
    ),
    refresh,
    close,
  );
  const panel = h("div", { class: "jpf-picker", "data-role": "picker" }, head);
  if (st.error) {
    panel.append(
      h("div", { class: "jpf-detail-text jpf-alert", "data-role": "picker-error" }, st.error),
    );
  }
  if (!st.kernels.length) {
    panel.append(
      h(
        "div",
        { class: "jpf-picker-empty", "data-role": "picker-empty" },
        st.refreshing ? "looking for kernels…" : "no running kernels found",
      ),
    );
    return panel;
  }
  const list = h("div", { class: "jpf-picker-list", role: "list" });
  for (const k of sortKernels(st.kernels)) {
    const c = pickerCells(k, st.now);
    const current = k.kernel_id === st.current;
    const row = h(
      "button",
      {
        type: "button",
        class: `jpf-picker-row${current ? " jpf-current" : ""}`,
        role: "listitem",
        "data-role": "picker-row",
        "data-kernel-id": k.kernel_id,
        "aria-current": current ? "true" : undefined,
        title: c.title,
      },
      h(
        "span",
        { class: "jpf-pk-nb", "data-field": "notebook" },
        c.notebook,
        k.own && h("span", { class: "jpf-pk-own", "data-field": "own" }, "this monitor's kernel"),
      ),
      h("span", { class: "jpf-pk-name", "data-field": "kernel-name" }, c.kernelName),
      h(
        "span",
        { class: "jpf-pk-state", "data-field": "state" },
        h("span", { class: "jpf-dot", "data-state": k.execution_state }),
        c.state,
      ),
      h("span", { class: "jpf-pk-conns", "data-field": "connections" }, c.connections),
      h(
        "span",
        {
          class: "jpf-pk-activity",
          "data-field": "activity",
          "data-last-activity": k.last_activity,
        },
        c.activity,
      ),
      h("span", { class: "jpf-pk-server", "data-field": "server" }, c.server),
      h("code", { class: "jpf-pk-id", "data-field": "kernel-id" }, c.shortId),
      current ? h("span", { class: "jpf-note" }, "(attached)") : null,
    );
    row.addEventListener("click", (ev) => {
      ev.stopPropagation();
      act.attach(k.kernel_id);
    });
    list.append(row);
  }
  panel.append(list);
  return panel;
}

/** Refresh the relative times of a drawn picker in place (no rebuild: keeps focus/hover). */
export function updatePickerTimes(panel: HTMLElement, now: number): void {
  for (const el of panel.querySelectorAll<HTMLElement>("[data-last-activity]")) {
    el.textContent = formatRelative(el.dataset.lastActivity ?? "", now) || "activity unknown";
  }
}
