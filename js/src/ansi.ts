/**
 * ANSI escape sequences (stream text, tracebacks) to coloured, safe DOM. Colours become classes
 * (`ansi-red-fg`, `ansi-bright-green-fg`, `ansi-blue-bg`, ...) that `widget.css` draws with the
 * theme's `--jp-*` colours, mixed with its text colour so that each is readable (4.5:1) on the
 * theme's backgrounds and on the error background; 256-colour and 24-bit colours are shown as the
 * nearest of the eight, and dim text is not dimmed.
 */
import { AnsiUp } from "ansi_up";
import { sanitizeAnsiHtml } from "./sanitize";

let converter: AnsiUp | null = null;

/** The eight ANSI colours (xterm's), for the nearest class of a 256-colour or 24-bit colour. */
const BASIC: [string, number, number, number][] = [
  ["black", 0, 0, 0],
  ["red", 205, 0, 0],
  ["green", 0, 205, 0],
  ["yellow", 205, 205, 0],
  ["blue", 0, 0, 238],
  ["magenta", 205, 0, 205],
  ["cyan", 0, 205, 205],
  ["white", 229, 229, 229],
];

function nearest(r: number, g: number, b: number): string {
  let best = "white";
  let dist = Number.POSITIVE_INFINITY;
  for (const [name, br, bg, bb] of BASIC) {
    const d = (r - br) ** 2 + (g - bg) ** 2 + (b - bb) ** 2;
    if (d < dist) {
      dist = d;
      best = name;
    }
  }
  return best;
}

const SPAN_RE = /<span(?: style="([^"]*)")?(?: class="([^"]*)")?>/g;
const RGB_RE = /^(color|background-color):rgb\((\d+),(\d+),(\d+)\)$/;

/** ansi_up's spans with their inline colours turned into classes and their dimming dropped. */
function themed(html: string): string {
  return html.replace(SPAN_RE, (_all, style: string | undefined, cls: string | undefined) => {
    const classes = cls ? cls.split(" ") : [];
    const kept: string[] = [];
    for (const decl of (style ?? "").split(";")) {
      const m = RGB_RE.exec(decl.trim());
      if (m) {
        classes.push(
          `ansi-${nearest(Number(m[2]), Number(m[3]), Number(m[4]))}-${m[1] === "color" ? "fg" : "bg"}`,
        );
      } else if (decl.trim() && !decl.trim().startsWith("opacity")) kept.push(decl.trim());
    }
    const s = kept.length ? ` style="${kept.join(";")}"` : "";
    const c = classes.length ? ` class="${classes.join(" ")}"` : "";
    return `<span${s}${c}>`;
  });
}

/** HTML for an ANSI text: ansi_up escapes the text, and its spans are sanitized again. */
export function ansiToSafeHtml(text: string): string {
  if (!converter) {
    converter = new AnsiUp();
    converter.escape_html = true;
    converter.use_classes = true;
    converter.url_allowlist = {};
  }
  return sanitizeAnsiHtml(themed(converter.ansi_to_html(text)));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters
const ANSI_RE = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/g;

/** The text with escape sequences removed (for summaries and copying). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, "");
}

/** Whether a text contains ANSI escapes at all (plain text is cheaper to show). */
export function hasAnsi(text: string): boolean {
  return text.includes("\u001b");
}
