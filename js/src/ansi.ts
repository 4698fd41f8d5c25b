/** ANSI escape sequences (stream text, tracebacks) to coloured, safe DOM. */
import { AnsiUp } from "ansi_up";
import { sanitizeAnsiHtml } from "./sanitize";

let converter: AnsiUp | null = null;

/** HTML for an ANSI text: ansi_up escapes the text, and its spans are sanitized again. */
export function ansiToSafeHtml(text: string): string {
  if (!converter) {
    converter = new AnsiUp();
    converter.escape_html = true;
    converter.url_allowlist = {};
  }
  return sanitizeAnsiHtml(converter.ansi_to_html(text));
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
