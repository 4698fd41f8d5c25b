/** Tiny DOM helpers: elements with text only (never innerHTML from untrusted input). */

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

/** Copy text to the clipboard when the page allows it; resolves to whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== "undefined" && navigator.clipboard?.writeText) {
      // A permission prompt nobody answers must not leave the copy pending for ever.
      const gaveUp = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000));
      return await Promise.race([navigator.clipboard.writeText(text).then(() => true), gaveUp]);
    }
  } catch {
    // Not allowed (insecure context, no permission): fall through.
  }
  return false;
}

/** A small button that copies `text()` and flashes the outcome. */
export function copyButton(text: () => string, role?: string, label = "copy"): HTMLButtonElement {
  const b = h(
    "button",
    { class: "jpf-copy", type: "button", "data-role": role, title: "Copy" },
    label,
  );
  b.addEventListener("click", (ev) => {
    ev.stopPropagation();
    void copyText(text()).then((ok) => {
      b.textContent = ok ? "copied" : "copy failed";
      setTimeout(() => {
        b.textContent = label;
      }, 1200);
    });
  });
  return b;
}

/** Set an element's text only when it differs (a write invalidates style and layout). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
