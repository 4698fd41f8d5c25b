/**
 * Sanitizing untrusted HTML and SVG from the target kernel (DOMPurify), so that nothing runs and
 * nothing is fetched: no scripts, frames, plugins, forms, meta/link/base/style elements, event
 * handlers or javascript: URLs; every URL that would load something (src, href of non-links,
 * poster, srcset, css url()) is removed unless it is a data: URL of an image or a #fragment.
 */
import createDOMPurify, { type Config, type DOMPurify } from "dompurify";

export const FORBID_TAGS = [
  "script",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "applet",
  "portal",
  "form",
  "input",
  "textarea",
  "select",
  "meta",
  "link",
  "base",
  "style",
  "noscript",
  "template",
];

export const FORBID_ATTR = [
  "srcset",
  "imagesrcset",
  "ping",
  "action",
  "formaction",
  "background",
  "lowsrc",
  "dynsrc",
  "manifest",
  "codebase",
  "longdesc",
  "autofocus",
];

/** Attributes whose value is a URL the browser may fetch (or navigate to, for links). */
const URL_ATTRS = ["src", "href", "xlink:href", "poster", "data", "cite", "usemap"];

const SAFE_LINK = /^(https?:|mailto:|#)/i;
const SAFE_DATA_IMAGE = /^data:image\/(png|jpe?g|gif|webp|bmp);/i;
/**
 * A `style` attribute that could fetch or run something. A backslash counts too: CSS escapes are
 * decoded in function names, so `u\72l(` is `url(` and `image-s\65t(` is `image-set(`.
 */
const BAD_CSS =
  /\\|url\s*\(|image-set\s*\(|@import|expression\s*\(|behavio(u)?r\s*:|-moz-binding|javascript:/i;

let purifier: DOMPurify | null = null;

function isLink(el: Element): boolean {
  return el.localName === "a" || el.localName === "area";
}

function scrub(node: Element): void {
  if (typeof node.getAttribute !== "function") return;
  for (const name of URL_ATTRS) {
    const value = node.getAttribute(name);
    if (value === null) continue;
    const v = value.trim();
    const ok =
      ((name === "href" || name === "xlink:href") && isLink(node) && SAFE_LINK.test(v)) ||
      (v.startsWith("#") && !v.includes(":")) ||
      (name === "src" && SAFE_DATA_IMAGE.test(v)) ||
      ((name === "href" || name === "xlink:href") &&
        node.localName === "image" &&
        SAFE_DATA_IMAGE.test(v));
    if (!ok) {
      node.removeAttribute(name);
      if (name !== "cite" && name !== "usemap") node.setAttribute("data-jpf-blocked", name);
    }
  }
  const style = node.getAttribute("style");
  if (style !== null && BAD_CSS.test(style)) node.removeAttribute("style");
  if (isLink(node) && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
}

function getPurifier(): DOMPurify {
  if (!purifier) {
    purifier = createDOMPurify(window);
    purifier.addHook("afterSanitizeAttributes", (node) => scrub(node as Element));
  }
  return purifier;
}

const HTML_CONFIG: Config = {
  FORBID_TAGS,
  FORBID_ATTR,
  ALLOW_DATA_ATTR: false,
  ADD_ATTR: ["target"],
  USE_PROFILES: { html: true, svg: true, svgFilters: true, mathMl: true },
};

/** Sanitized HTML as a string (for tests and for inspection). */
export function sanitizeHtml(html: string): string {
  return getPurifier().sanitize(html, { ...HTML_CONFIG, RETURN_TRUSTED_TYPE: false }) as string;
}

/** Sanitized HTML as a fragment, ready to append. */
export function sanitizeHtmlFragment(html: string): DocumentFragment {
  return getPurifier().sanitize(html, { ...HTML_CONFIG, RETURN_DOM_FRAGMENT: true });
}

const SVG_CONFIG: Config = {
  FORBID_TAGS,
  FORBID_ATTR,
  ALLOW_DATA_ATTR: false,
  USE_PROFILES: { svg: true, svgFilters: true },
};

/** Sanitized SVG markup as a string. */
export function sanitizeSvg(svg: string): string {
  return getPurifier().sanitize(svg, { ...SVG_CONFIG, RETURN_TRUSTED_TYPE: false }) as string;
}

export function sanitizeSvgFragment(svg: string): DocumentFragment {
  return getPurifier().sanitize(svg, { ...SVG_CONFIG, RETURN_DOM_FRAGMENT: true });
}

/** ansi_up's output: only spans with inline colours survive. */
export function sanitizeAnsiHtml(html: string): string {
  return getPurifier().sanitize(html, {
    ALLOWED_TAGS: ["span"],
    ALLOWED_ATTR: ["style", "class"],
    RETURN_TRUSTED_TYPE: false,
  }) as string;
}
