/** Pure text for the header: the connection line and the empty list's note. */

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

/**
 * The header's connection line (`text`) and its tooltip (`title`) from the `connection` trait:
 * server URL, notebook and websocket protocol for a remote attach (`transport: "websocket"`),
 * transport, ip and ports for a local one. Empty when the trait is empty.
 */
export function connectionSummary(c: Record<string, unknown>): { text: string; title: string } {
  if (!Object.keys(c).length) return { text: "", title: "" };
  const name = str(c.kernel_name);
  if (str(c.transport) === "websocket") {
    const protocol = str(c.protocol);
    const text = [
      str(c.server_url) || "(server unknown)",
      str(c.notebook) || "(no notebook)",
      protocol ? `protocol ${protocol}` : "protocol (legacy)",
    ].join(" · ");
    const title = [
      "websocket (through the Jupyter server)",
      name && `kernel ${name}`,
      str(c.kernel_id) && `kernel id ${str(c.kernel_id)}`,
      str(c.websocket),
    ]
      .filter(Boolean)
      .join("\n");
    return { text, title };
  }
  const port = (k: string) => str(c[k]) || "?";
  const text = `${str(c.transport) || "tcp"}://${str(c.ip)} · shell ${port("shell_port")} iopub ${port("iopub_port")} stdin ${port("stdin_port")} control ${port("control_port")} hb ${port("hb_port")}`;
  const title = [name && `kernel ${name}`, str(c.connection_file), str(c.signature_scheme)]
    .filter(Boolean)
    .join("\n");
  return { text, title };
}

/**
 * What the empty list says. Nothing under a failed or dead monitor (the red detail says why),
 * "not attached" when there is no kernel (closed, or no target chosen yet), "waiting for
 * messages…" while attached or attaching, and "no rows match the filters" when rows exist but
 * none pass.
 */
export function emptyListText(opts: {
  status: string;
  held: number;
  shown: number;
  historyAsked: boolean;
  target: string;
}): string {
  if (opts.held > 0) return opts.shown === 0 ? "no rows match the filters" : "";
  if (opts.status === "failed" || opts.status === "dead") return "";
  if (opts.status === "closed" || !opts.target) return "not attached";
  return opts.historyAsked ? "waiting for messages…" : "";
}

/** The command that puts a tap in front of a kernel (the header's note names it). */
export const TAP_COMMAND = "jpf tap install";

/**
 * What the header says of the `capture` trait: through a tap ("tap") the monitor sees every
 * client's traffic, and a badge says so; with "iopub" or "server" a note says what is not
 * visible and how to get it (`text`, then the command, then `after`); nothing when not
 * attached ("").
 */
export function captureNote(capture: string): {
  kind: "badge" | "note" | "";
  text: string;
  command: string;
  after: string;
  title: string;
} {
  if (capture === "tap")
    return {
      kind: "badge",
      text: "full capture",
      command: "",
      after: "",
      title:
        "Through a tap in front of the kernel: every client's requests and replies on shell, control and stdin, both ways, and iopub",
    };
  if (capture === "iopub" || capture === "server") {
    const seen = capture === "server" ? "iopub, through the Jupyter server" : "iopub only";
    return {
      kind: "note",
      text: `${seen}: other clients' requests and replies (shell, control, stdin) are not visible; to see them, `,
      command: TAP_COMMAND,
      after: ', then start the kernel with its "(tapped)" kernelspec',
      title: `The monitor hears what the kernel broadcasts on iopub, and the replies to its own requests. "${TAP_COMMAND}" writes a kernelspec ("… (tapped)") that starts the kernel behind a tap; the monitor then sees every client's traffic.`,
    };
  }
  return { kind: "", text: "", command: "", after: "", title: "" };
}
