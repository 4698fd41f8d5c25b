/** JSON text for display and copying, safe on hostile input: iterative, depth- and size-capped. */

export interface StringifyOptions {
  /** Containers deeper than this are shown as `"[… N levels deeper]"`. */
  maxDepth?: number;
  /** Stop after about this many characters. */
  maxChars?: number;
  /** Strings longer than this are cut with a note. */
  maxString?: number;
  indent?: number;
}

export interface StringifyResult {
  text: string;
  truncated: boolean;
}

type Frame = {
  entries: [string | null, unknown][];
  i: number;
  close: string;
  depth: number;
};

function quote(s: string, max: number): string {
  if (s.length > max) {
    return `${JSON.stringify(s.slice(0, max))} /* … ${s.length - max} more characters */`;
  }
  return JSON.stringify(s);
}

function scalar(v: unknown, maxString: number): string | null {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return quote(v, maxString);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return String(v);
    case "bigint":
      return String(v);
    case "object":
      return null;
    default:
      return "null";
  }
}

/** Pretty JSON without recursion; never throws on deep or huge input. */
export function safeStringify(value: unknown, opts: StringifyOptions = {}): StringifyResult {
  const maxDepth = opts.maxDepth ?? 64;
  const maxChars = opts.maxChars ?? 1_000_000;
  const maxString = opts.maxString ?? 100_000;
  const indent = " ".repeat(opts.indent ?? 2);
  const parts: string[] = [];
  let length = 0;
  let truncated = false;
  const push = (s: string) => {
    parts.push(s);
    length += s.length;
  };

  const open = (v: object, depth: number, stack: Frame[]): void => {
    const isArr = Array.isArray(v);
    const entries: [string | null, unknown][] = isArr
      ? (v as unknown[]).map((x) => [null, x])
      : Object.entries(v as Record<string, unknown>);
    if (!entries.length) {
      push(isArr ? "[]" : "{}");
      return;
    }
    if (depth >= maxDepth) {
      push(
        isArr ? `[/* ${entries.length} items deeper */]` : `{/* ${entries.length} keys deeper */}`,
      );
      truncated = true;
      return;
    }
    push(isArr ? "[" : "{");
    stack.push({ entries, i: 0, close: isArr ? "]" : "}", depth: depth + 1 });
  };

  const stack: Frame[] = [];
  const first = scalar(value, maxString);
  if (first !== null) return { text: first, truncated: false };
  open(value as object, 0, stack);
  while (stack.length) {
    if (length > maxChars) {
      truncated = true;
      push("\n/* … output cut */");
      break;
    }
    const top = stack[stack.length - 1];
    if (top.i >= top.entries.length) {
      stack.pop();
      push(`\n${indent.repeat(top.depth - 1)}${top.close}`);
      continue;
    }
    const [key, v] = top.entries[top.i];
    push(`${top.i > 0 ? "," : ""}\n${indent.repeat(top.depth)}`);
    top.i++;
    if (key !== null) push(`${JSON.stringify(key)}: `);
    const s = scalar(v, maxString);
    if (s !== null) push(s);
    else open(v as object, top.depth, stack);
  }
  return { text: parts.join(""), truncated };
}

/** The first `max` characters of a text and whether it was cut. */
export function capText(text: string, max: number): { text: string; cut: number } {
  if (text.length <= max) return { text, cut: 0 };
  return { text: text.slice(0, max), cut: text.length - max };
}
