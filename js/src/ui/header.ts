/**
 * The header: connection status and why, the kernel's id (with copy), what the kernel is, how
 * the monitor is connected, the capture badge or note, and "switch kernel".
 */
import { effect } from "@preact/signals-core";
import { copyButton, h } from "../dom";
import { captureNote, connectionSummary } from "../header";
import { shortId } from "../time";
import { asObj, asString, drawer, type Mount, onModel, pickerShown } from "./view";

const STATUS_WORDS: Record<string, string> = {
  connecting: "connecting",
  connected: "connected",
  unresponsive: "unresponsive",
  restarting: "restarting",
  dead: "dead",
  closed: "closed",
  failed: "failed",
};

const TRAITS = [
  "status",
  "status_detail",
  "kernel_id",
  "connection",
  "kernel_info",
  "target",
  "capture",
].map((t) => `change:${t}`);

export const mountHeader: Mount = (parent, v) => {
  const m = v.model;
  const status = h("span", { class: "jpf-status", "data-role": "status" });
  const detail = h("div", { class: "jpf-detail-text", "data-role": "status-detail" });
  const kernelId = h("code", { class: "jpf-kid", "data-role": "kernel-id" });
  const kernelInfo = h("span", { class: "jpf-kinfo", "data-role": "kernel-info" });
  const connection = h("span", { class: "jpf-conn", "data-role": "connection" });
  const capture = h("span", { class: "jpf-capture" });
  const captureLine = h("div", { class: "jpf-capture-line" });
  const switchKernel = h(
    "button",
    {
      type: "button",
      class: "jpf-btn jpf-small",
      "data-role": "switch-kernel",
      title: "Attach to another kernel",
    },
    "switch kernel",
  );
  switchKernel.addEventListener("click", () => {
    const open = !v.pickerOpen.value;
    if (open) v.s.kernels.refresh();
    v.pickerOpen.value = open;
  });
  const copyId = copyButton(() => asString(m.get("kernel_id")), "copy-kernel-id", "copy");
  copyId.title = "Copy the kernel id";
  const line = h(
    "div",
    { class: "jpf-hline" },
    status,
    h("span", { class: "jpf-kidwrap" }, "kernel ", kernelId, copyId),
    kernelInfo,
    connection,
    capture,
    switchKernel,
  );
  parent.append(line, captureLine, detail);

  let captureKey = "";
  /**
   * The capture badge ("full capture", through a tap) in the header's line, or the note saying
   * what is not seen (and how to see it) on a line of its own.
   */
  const drawCapture = () => {
    const kind = asString(m.get("capture"));
    v.root.dataset.capture = kind;
    const note = captureNote(kind);
    const key = `${kind}|${note.kind}`;
    if (captureKey === key) return;
    captureKey = key;
    capture.replaceChildren(
      note.kind === "badge"
        ? h(
            "span",
            { class: "jpf-capture-badge", "data-role": "capture-badge", title: note.title },
            note.text,
          )
        : "",
    );
    captureLine.replaceChildren(
      note.kind === "note"
        ? h(
            "span",
            {
              class: "jpf-capture-note",
              "data-role": "capture-note",
              "data-capture": kind,
              title: note.title,
            },
            note.text,
            h("code", {}, note.command),
            note.after,
          )
        : "",
    );
    captureLine.hidden = note.kind !== "note";
  };

  const draw = () => {
    const word = asString(m.get("status")) || "connecting";
    v.root.dataset.status = word;
    status.replaceChildren(
      h("span", { class: "jpf-dot", "data-state": word }),
      h("span", { class: "jpf-status-word" }, STATUS_WORDS[word] ?? word),
    );
    status.title = asString(m.get("target")) ? `target: ${asString(m.get("target"))}` : "";
    const text = asString(m.get("status_detail"));
    detail.textContent = text;
    detail.hidden = !text;
    detail.classList.toggle(
      "jpf-alert",
      ["failed", "dead", "unresponsive", "restarting"].includes(word),
    );
    const kid = asString(m.get("kernel_id"));
    kernelId.textContent = kid ? shortId(kid) : "?";
    kernelId.title = kid;
    const ki = asObj(m.get("kernel_info"));
    const lang = asObj(ki.language_info);
    const parts = [
      [asString(ki.implementation), asString(ki.implementation_version)].filter(Boolean).join(" "),
      [asString(lang.name), asString(lang.version)].filter(Boolean).join(" "),
      ki.protocol_version ? `protocol ${asString(ki.protocol_version)}` : "",
    ].filter(Boolean);
    kernelInfo.textContent = parts.join(" · ");
    kernelInfo.title = asString(ki.banner);
    const conn = connectionSummary(asObj(m.get("connection")));
    connection.textContent = conn.text;
    connection.title = conn.title;
    connection.dataset.transport = asString(asObj(m.get("connection")).transport);
    drawCapture();
    switchKernel.setAttribute("aria-pressed", String(pickerShown(v)));
  };
  const d = drawer(draw);
  d.now();
  const offTraits = onModel(m, TRAITS, d.now);
  const offPicker = effect(() => {
    v.pickerOpen.value;
    v.s.kernels.tick.value;
    d.now();
  });
  return () => {
    offTraits();
    offPicker();
    d.dispose();
    line.remove();
    captureLine.remove();
    detail.remove();
  };
};
