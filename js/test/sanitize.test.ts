// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { ansiToSafeHtml, stripAnsi } from "../src/ansi";
import { sanitizeHtml, sanitizeSvg } from "../src/sanitize";

describe("sanitizeHtml", () => {
  const bad: [string, RegExp][] = [
    ["<script>alert(1)</script><b>ok</b>", /script|alert/i],
    ['<img src=x onerror="alert(1)">', /onerror|alert/i],
    ['<a href="javascript:alert(1)">x</a>', /javascript/i],
    ['<svg><script>alert(1)</script><circle r="1"/></svg>', /script|alert/i],
    ['<svg onload="alert(1)"></svg>', /onload/i],
    ['<iframe src="https://evil.example/"></iframe>', /iframe|evil/i],
    ['<form action="https://evil.example/"><input name=a></form>', /form|input|evil/i],
    ['<meta http-equiv="refresh" content="0;url=https://evil.example/">', /meta|refresh|evil/i],
    ['<div style="background:url(https://evil.example/x.png)">x</div>', /url\(|evil/i],
    ["<style>body{background:url(https://evil.example/)}</style>", /style|evil/i],
    ['<img src="https://evil.example/track.png">', /evil/i],
    ['<img srcset="https://evil.example/a.png 1x">', /evil|srcset/i],
    ['<link rel="stylesheet" href="https://evil.example/a.css">', /link|evil/i],
    [
      '<object data="https://evil.example/a.swf"></object><embed src="https://evil.example/b">',
      /object|embed|evil/i,
    ],
    ['<svg><image href="https://evil.example/a.png"/></svg>', /evil/i],
    ['<svg><use xlink:href="https://evil.example/s.svg#a"/></svg>', /evil/i],
    [
      '<video poster="https://evil.example/p.png"><source src="https://evil.example/v.mp4"></video>',
      /evil/i,
    ],
    ['<base href="https://evil.example/">', /base|evil/i],
    ['<a href="https://ok.example/" ping="https://evil.example/">x</a>', /evil|ping/i],
    ["<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", /onerror|alert/i],
    // CSS escapes are decoded in function names: u\72l( is url(, image-s\65t( is image-set(
    ['<div style="background:u\\72l(https://evil.example/e.png)">x</div>', /evil/i],
    ["<div style=\"background:image-s\\65t('https://evil.example/e.png' 1x)\">x</div>", /evil/i],
    [
      '<svg><a><animate attributeName="href" values="javascript:alert(1)"/><text>x</text></a></svg>',
      /javascript|animate/i,
    ],
    ['<svg><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>', /javascript/i],
  ];
  for (const [input, forbidden] of bad) {
    it(`neutralizes ${input.slice(0, 60)}`, () => {
      expect(sanitizeHtml(input)).not.toMatch(forbidden);
    });
  }
  it("keeps harmless markup, data images and safe links", () => {
    const out = sanitizeHtml(
      '<table><tr><td><b>x</b></td></tr></table><img src="data:image/png;base64,AAAA"><a href="https://ok.example/">ok</a>',
    );
    expect(out).toContain("<b>x</b>");
    expect(out).toContain("data:image/png;base64,AAAA");
    expect(out).toContain('href="https://ok.example/"');
    expect(out).toContain("noopener");
  });
  it("marks blocked remote loads", () => {
    expect(sanitizeHtml('<img src="https://evil.example/a.png" alt="a">')).toContain(
      'data-jpf-blocked="src"',
    );
  });
});

describe("sanitizeSvg", () => {
  it("strips scripts, handlers and remote references", () => {
    const out = sanitizeSvg(
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)"><circle r="4" fill="red"/></a><image href="http://evil.example/x.png"/><foreignObject><iframe src="https://evil.example"></iframe></foreignObject></svg>',
    );
    expect(out).not.toMatch(/alert|script|onload|evil|iframe/i);
    expect(out).toContain("circle");
  });
});

describe("ansi", () => {
  it("colours and escapes", () => {
    const html = ansiToSafeHtml("\u001b[31mred <b>not bold</b>\u001b[0m plain");
    expect(html).toContain("span");
    expect(html).toContain("&lt;b&gt;");
    expect(html).not.toContain("<b>");
    expect(stripAnsi("\u001b[1;32mok\u001b[0m")).toBe("ok");
  });

  it("draws colours with the theme's classes, never inline colours or dimming", () => {
    const html = ansiToSafeHtml(
      "\u001b[31mred\u001b[0m \u001b[1;91mbright\u001b[0m \u001b[2mdim\u001b[0m " +
        "\u001b[37;41mon red\u001b[0m \u001b[38;5;28m256 green\u001b[0m " +
        "\u001b[48;2;0;0;250m24-bit blue\u001b[0m",
    );
    const box = document.createElement("div");
    box.innerHTML = html;
    const spans = [...box.querySelectorAll("span")].map((s) => [s.className, s.textContent]);
    expect(spans).toEqual([
      ["ansi-red-fg", "red"],
      ["ansi-bright-red-fg", "bright"],
      ["", "dim"],
      ["ansi-white-fg ansi-red-bg", "on red"],
      ["ansi-green-fg", "256 green"],
      ["ansi-blue-bg", "24-bit blue"],
    ]);
    expect(html).not.toMatch(/color:|opacity/);
    expect(box.querySelector("span[style]")?.getAttribute("style")).toBe("font-weight:bold");
  });
});
