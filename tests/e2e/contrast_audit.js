() => {
  // Computed colours: rgb()/rgba(), or color(srgb r g b / a) (0..1) for a color-mix()
  const parse = (c) => {
    const srgb = c.match(/color\(srgb ([^)]+)\)/);
    if (srgb) {
      const p = srgb[1].split(/[ /]+/).filter(Boolean).map(Number);
      return { r: p[0] * 255, g: p[1] * 255, b: p[2] * 255, a: p.length > 3 ? p[3] : 1 };
    }
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) throw new Error(`contrast audit: a colour it cannot read: ${c}`);
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (x, y) => (x * top.a + y * bottom.a * (1 - top.a)) / a;
    return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a };
  };
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg.a > 0) {
        layers.push(bg);
        if (bg.a >= 1) break;
      }
    }
    let c = { r: 255, g: 255, b: 255, a: 1 };
    const last = layers[layers.length - 1];
    if (!last || last.a < 1) c = parse(getComputedStyle(document.body).backgroundColor) || c;
    for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
    return c;
  };
  const out = [];
  for (const root of document.querySelectorAll(".jpf-monitor")) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement;
      if (!el) continue;
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || el.checkVisibility?.({ visibilityProperty: true }) === false)
        continue;
      const s = getComputedStyle(el);
      const bg = background(el);
      const fg = over(parse(s.color), bg);
      const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(s.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
      const need = large ? 3 : 4.5;
      if (ratio < need)
        out.push({
          text: n.textContent.trim().slice(0, 40),
          cls: el.className,
          role: el.closest("[data-role]")?.dataset.role ?? "",
          ratio: Math.round(ratio * 100) / 100,
          fg: s.color,
          bg: `rgb(${bg.r | 0}, ${bg.g | 0}, ${bg.b | 0})`,
        });
    }
  }
  return out;
}
