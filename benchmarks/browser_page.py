"""The in-page probes of benchmarks/browser.py (JavaScript, installed with page.evaluate)."""

PAGE_JS = r"""
// In-page probes for benchmarks/browser.py: installed with page.evaluate, read back as JSON.
// Everything here reads the DOM through jpf_widget's test hooks (js/README.md), never its code.
() => {
  const J = {};
  const list = () => document.querySelector(".jpf-monitor [data-role=list]");
  J.rows = () => [...document.querySelectorAll(".jpf-monitor [data-role=list] [data-role=row]")];
  J.counter = (name) => {
    const el = document.querySelector(
      `.jpf-monitor [data-role=counter][data-counter=${name}] .jpf-cvalue`,
    );
    return el ? Number.parseInt(el.textContent, 10) : -1;
  };
  // The newest comm_msg row (highest data-seq) at least partly inside the list's viewport,
  // with the "i" and "t" of its comm data (from the summary: {"i":123,"t":1764...}); the
  // burst's closing comm_close comes after the last of them.
  J.newest = () => {
    const l = list();
    if (!l) return null;
    const lr = l.getBoundingClientRect();
    let best = null;
    let bestSeq = -1;
    for (const r of l.querySelectorAll("[data-role=row]")) {
      const seq = Number(r.dataset.seq);
      if (seq <= bestSeq || r.dataset.msgType !== "comm_msg") continue;
      const rr = r.getBoundingClientRect();
      if (rr.height === 0 || rr.bottom <= lr.top || rr.top >= lr.bottom) continue;
      best = r;
      bestSeq = seq;
    }
    if (!best) return null;
    const s = best.querySelector(".jpf-summary");
    const text = s ? s.textContent : "";
    const mi = /"i":(\d+)/.exec(text);
    const mt = /"t":([0-9.]+)/.exec(text);
    return {
      seq: bestSeq,
      type: best.dataset.msgType,
      i: mi ? Number(mi[1]) : -1,
      t: mt ? Number(mt[1]) : Number.NaN,
    };
  };
  J.longTasks = (from, to) => {
    const xs = (window.__jpfLongTasks || []).filter(([s, d]) => s + d >= from && s <= to);
    return {
      count: xs.filter((x) => x[1] > 50).length,
      max: xs.reduce((m, x) => Math.max(m, x[1]), 0),
      total: xs.reduce((a, x) => a + x[1], 0),
      supported: !window.__jpfLongTasksError,
    };
  };
  J.dom = () => ({
    rows: document.querySelectorAll(".jpf-monitor [data-role=row]").length,
    monitorElements: document.querySelectorAll(".jpf-monitor *").length,
    documentElements: document.getElementsByTagName("*").length,
    shown: J.counter("shown"),
    captured: J.counter("captured"),
    heapMB: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : -1,
  });
  // Resolve (window.__jpfDone) on the first frame where captured (+ possible loss) >=
  // minCaptured and the newest visible row is comm data number lastI; or, when nothing has
  // changed for stallMs (a message lost on the way, the last one among them), with ok false
  // and the time of the last change.
  J.armDone = (minCaptured, lastI, timeoutMs, stallMs) => {
    const p0 = performance.now();
    window.__jpfDone = new Promise((resolve) => {
      let key = "";
      let changedWall = Date.now();
      let changedPerf = p0;
      const tick = () => {
        const c = J.counter("captured");
        const lost = Math.max(0, J.counter("lost"));
        const n = J.newest();
        const now = performance.now();
        const k = `${c}/${lost}/${n ? n.seq : -1}`;
        if (k !== key) {
          key = k;
          changedWall = Date.now();
          changedPerf = now;
        }
        const base = { p0, captured: c, lost, newest: n };
        if (c + lost >= minCaptured && n && n.i === lastI) {
          resolve({ ...base, ok: true, wall: Date.now(), p1: now });
        } else if (now - changedPerf > stallMs && c > 0) {
          resolve({ ...base, ok: false, why: "stalled", wall: changedWall, p1: changedPerf });
        } else if (now - p0 > timeoutMs) {
          resolve({ ...base, ok: false, why: "timeout", wall: Date.now(), p1: now });
        } else requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    return p0;
  };
  // For durationMs: each time the list's DOM changes, at the next frame, when the newest
  // visible row is a new one, its age (Date.now() - the kernel's send time in its data). Driven
  // by the list's mutations, not by a requestAnimationFrame loop: a loop of its own would make
  // the page render 60 frames a second and read the layout in each, work the view does not do
  // (in a trace of 5c it was most of the main thread's busy time).
  J.armLive = (durationMs) => {
    const p0 = performance.now();
    performance.mark("jpf-live-start"); // for a trace of the same window
    window.__jpfLive = new Promise((resolve) => {
      const lat = [];
      let lastI = -1;
      let updates = 0;
      let pending = false;
      const sample = () => {
        pending = false;
        updates++;
        const n = J.newest();
        if (n && n.i > lastI && Number.isFinite(n.t)) {
          lat.push(Date.now() - n.t);
          lastI = n.i;
        }
      };
      const mo = new MutationObserver(() => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(sample);
      });
      mo.observe(list(), { childList: true, subtree: true, characterData: true });
      setTimeout(() => {
        mo.disconnect();
        const p1 = performance.now();
        performance.mark("jpf-live-end");
        resolve({ lat, updates, p0, p1, lastI, captured: J.counter("captured") });
      }, durationMs);
    });
    return p0;
  };
  // Markers (channel "monitor") ignore the type and text filters by design: not counted.
  const data = (rows) => rows.filter((r) => r.dataset.channel !== "monitor");
  const summary = (r) => r.querySelector(".jpf-summary")?.textContent || "";
  const checks = {
    allType: (rows, a) => data(rows).length > 0 && data(rows).every((r) => r.dataset.msgType === a),
    someOtherType: (rows, a) => data(rows).some((r) => r.dataset.msgType !== a),
    allText: (rows, a) => data(rows).length > 0 && data(rows).every((r) => summary(r).includes(a)),
    someNotText: (rows, a) => data(rows).some((r) => !summary(r).includes(a)),
  };
  // On the next `eventType` event anywhere (capture phase, so before the widget's handler),
  // start the clock at the event's timeStamp; stop it when the list's rows satisfy the check.
  J.armFilter = (eventType, kind, arg) => {
    window.__jpfFilter = new Promise((resolve) => {
      const onEvent = (e) => {
        window.removeEventListener(eventType, onEvent, true);
        const t0 = e.timeStamp;
        let done = false;
        const finish = (how) => {
          if (done) return;
          done = true;
          mo.disconnect();
          const tDom = performance.now();
          requestAnimationFrame(() => {
            const tFrame = performance.now();
            resolve({ dom: tDom - t0, frame: tFrame - t0, how, rows: J.rows().length });
          });
        };
        const mo = new MutationObserver(() => {
          if (!done && checks[kind](J.rows(), arg)) finish("mutation");
        });
        mo.observe(list(), { childList: true, subtree: true, characterData: true });
        const poll = () => {
          if (done) return;
          if (checks[kind](J.rows(), arg)) finish("poll");
          else if (performance.now() - t0 > 5000) {
            done = true;
            mo.disconnect();
            resolve({ dom: -1, frame: -1, how: "timeout", rows: J.rows().length });
          } else requestAnimationFrame(poll);
        };
        setTimeout(poll, 0);
      };
      window.addEventListener(eventType, onEvent, true);
    });
  };
  // jupyterlab-kernelspy: count its "iopub.comm_msg" thread labels every 200 ms.
  J.armSpy = (target) => {
    const k = { n: 0, p0: performance.now(), changedWall: Date.now(), doneWall: 0, donePerf: 0 };
    window.__ks = k;
    k.timer = setInterval(() => {
      let n = 0;
      for (const el of document.getElementsByClassName("jp-kernelspy-threadlabel"))
        if (el.textContent === "iopub.comm_msg") n++;
      if (n !== k.n) {
        k.n = n;
        k.changedWall = Date.now();
      }
      if (n >= target && !k.doneWall) {
        k.doneWall = Date.now();
        k.donePerf = performance.now();
      }
    }, 200);
    return k.p0;
  };
  window.__jpf = J;
  return true;
};
"""
