/**
 * The "export" control: saves what the list's filters show as a trace file. Python writes the
 * trace (`export` request); the browser downloads it under the name Python gives it. While it is
 * on its way the button is disabled; a failure is said in its title and `data-state`.
 */
import { h, setText } from "../dom";
import { exportTrace } from "../model/exports";
import type { Mount } from "./view";

/** Offer bytes as a download named `name` (a link to a blob, clicked). */
export function download(name: string, bytes: Uint8Array, type = "application/x-ndjson"): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = h("a", { href: url, download: name, hidden: "" });
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy by then; a later revoke leaves time for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const TITLE = "Save the messages the filters show as a trace file (.jsonl; Monitor.load reads it)";

export const mountExport: Mount = (parent, v) => {
  const button = h(
    "button",
    { type: "button", class: "jpf-btn", "data-role": "export", "data-state": "", title: TITLE },
    "Export",
  );
  let alive = true;
  button.addEventListener("click", () => {
    button.disabled = true;
    button.dataset.state = "pending";
    setText(button, "Exporting…");
    exportTrace(v.s.client, v.s.filter.filters)
      .then(
        (file) => {
          if (!alive) return;
          download(file.name, file.bytes);
          button.dataset.state = "done";
          button.dataset.file = file.name;
          button.title = `${TITLE}\nlast: ${file.name}, ${file.messages} messages`;
        },
        (err: unknown) => {
          if (!alive) return;
          button.dataset.state = "failed";
          button.title = `${TITLE}\nthe export failed: ${err instanceof Error ? err.message : String(err)}`;
        },
      )
      .finally(() => {
        if (!alive) return;
        button.disabled = false;
        setText(button, "Export");
      });
  });
  parent.append(button);
  return () => {
    alive = false;
    button.remove();
  };
};
