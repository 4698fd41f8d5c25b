"""Browser: jpf_widget's view in headless Chromium (JupyterLab 4), and jupyterlab-kernelspy.

Items 5 (the view) and 6 (beside kernelspy). One JupyterLab server (the e2e harness of
``tests/e2e/conftest.py``: isolated dirs, Debian's Chromium through Playwright), target kernels
started through the server's REST API and driven over ZMQ by this process, the Monitor in a
notebook of its own.

5a. 100,000 comm messages in the log: row elements in the DOM.
5b. filter changes on that log (a type chip, the text box), from the input event to the DOM
    showing the filtered rows (``MutationObserver`` + ``requestAnimationFrame`` in the page).
    The text box is debounced by 100 ms by design; that is in its number.
5c. a live stream paced at 5,000 comm messages/s for 20 s, each carrying the kernel's send time:
    long tasks (Long Tasks API) and the age of the newest visible row when it first appears.
    Also, from a Chromium trace, the main thread's own CPU time in each task over 50 ms, and
    the CPU each process used meanwhile. Then the same stream again with the Jupyter server and
    the flooding kernel at nice 15 (a diagnostic: the same work, with the monitor and the
    browser first in line for the 2 cores).
6.  10,000 comm messages: jpf_widget (monitoring a target kernel from another notebook) and
    jupyterlab-kernelspy (spying on its own notebook's kernel), in the same browser and server,
    with the server's default iopub rate limit and again with the limit lifted
    (``ZMQChannelsWebsocketConnection.limit_rate = False``).

Environment: ``JPF_BENCH_DENSITY=compact`` (or ``comfortable``) creates the Monitor with that
density (unset: the default, and no argument, so a view older than the trait runs too);
``JPF_BENCH_ONLY=5`` runs items 5a-5c alone (one server, no item 6).

Needs Chromium at /usr/bin/chromium and, for item 6, ``pip install jupyterlab-kernelspy==4.0.0``
(without it the kernelspy rows say so). Takes about 7 minutes, most of it kernelspy.

Numbers are from a shared 2-core machine: compare rows of one run, not runs.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.blocking.client import BlockingKernelClient
from playwright.sync_api import Browser, sync_playwright

from benchmarks.browser_page import PAGE_JS
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Front,
    Server,
    open_notebook,
    run_cell,
    start_server,
)

BURST = 10_000
BIG = 100_000
LIVE_RATE = 5_000
LIVE_SECONDS = 20
SPY_TIMEOUT = 180.0
DENSITY = os.environ.get("JPF_BENCH_DENSITY", "")
ONLY_5 = os.environ.get("JPF_BENCH_ONLY", "") == "5"
STALL_SECONDS = 10.0  # nothing new on screen for this long: stop waiting
SPY_STALL_SECONDS = 20.0  # kernelspy's page can be unresponsive for seconds at a time

INIT_SCRIPT = """
(() => {
  window.__jpfLongTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__jpfLongTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { window.__jpfLongTasksError = String(e); }
})();
"""

# For kernelspy's page: count the comm_msg frames its kernel websockets deliver to the page, to
# tell messages that never reached the browser from messages not shown.
COUNT_WEBSOCKET_FRAMES = """
(() => {
  window.__wsCommMsgs = 0;
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  const isCommMsg = /"msg_type":\\s*"comm_msg"/;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (String(args[0]).includes("/channels")) {
        this.addEventListener("message", (e) => {
          const d = e.data;
          const text =
            typeof d === "string" ? d : d instanceof ArrayBuffer ? decoder.decode(d) : "";
          if (isCommMsg.test(text)) window.__wsCommMsgs++;
        });
      }
    }
  };
})();
"""

BURST_CODE = """
from comm import create_comm
c = create_comm(target_name="jpf.bench")
for i in range({n}):
    c.send({{"i": i}})
c.close()
"""

LIVE_CODE = """
import time
from comm import create_comm
c = create_comm(target_name="jpf.live")
rate, total, batch = {rate}, {total}, 25
start = time.time()
sent = 0
while sent < total:
    wait = start + sent / rate - time.time()
    if wait > 0:
        time.sleep(wait)
    for _ in range(batch):
        c.send({{"i": sent, "t": round(time.time() * 1000, 1)}})
        sent += 1
live_elapsed = time.time() - start
"""

RATE_LIMIT_WARNING = "IOPub message rate exceeded"


def say(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), "[browser]", *parts, file=sys.stderr, flush=True)


def row(  # noqa: PLR0917 (one table row, its columns in order)
    item: str, viewer: str, server: str, measure: str, value: object, target: str = ""
) -> dict[str, Any]:
    return {
        "item": item,
        "viewer": viewer,
        "server iopub limit": server,
        "measure": measure,
        "value": value,
        "target": target,
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# ------------------------------------------------------------------------------- kernels


class Target:
    """A kernel started by the server (REST), driven over ZMQ from here (shell only: this
    process never subscribes to its iopub, so it adds no load on that side)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.kernel_id = str(server.api("POST", "/api/kernels", {"name": "python3"})["id"])
        path = server.runtime_dir / f"kernel-{self.kernel_id}.json"
        deadline = time.monotonic() + 60
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no connection file {path}")
            time.sleep(0.1)
        time.sleep(0.2)  # written, not necessarily complete: let it land
        self.client = BlockingKernelClient(connection_file=str(path))
        self.client.load_connection_file()
        self.client.start_channels(iopub=False, stdin=False, hb=False)
        reply = self.client.kernel_info(reply=True, timeout=60)
        assert reply["content"]["status"] == "ok"
        server.remember_kernels()

    def execute(self, code: str) -> str:
        return str(self.client.execute(code, silent=False, store_history=False))

    def wait(self, msg_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            reply = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                content = dict(reply["content"])
                if content.get("status") != "ok":
                    raise RuntimeError(f"target cell failed: {content}")
                return content

    def expression(self, expr: str) -> str:
        msg_id = str(self.client.execute("", silent=True, user_expressions={"x": expr}))
        value = self.wait(msg_id, 30)["user_expressions"]["x"]
        return str(value.get("data", {}).get("text/plain", value))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        with contextlib.suppress(Exception):
            self.server.api("DELETE", f"/api/kernels/{self.kernel_id}")


def server_config(base: Path, limit: bool) -> None:
    """Written before the server starts: its JUPYTER_CONFIG_DIR is ``base/config``."""
    config = base / "config"
    config.mkdir(parents=True, exist_ok=True)
    settings = {} if limit else {"ZMQChannelsWebsocketConnection": {"limit_rate": False}}
    (config / "jupyter_server_config.json").write_text(json.dumps(settings))


# --------------------------------------------------------------------------- where the time goes


def process_role(cmd: str, target: Target) -> str:
    """A process's part in the run, from its command line: the Jupyter server, the target
    kernel, the monitoring kernel, Chromium's renderers, the rest of Chromium, or other."""
    if "ipykernel_launcher" in cmd:
        return "target kernel" if target.kernel_id in cmd else "monitoring kernel"
    if "jupyterlab" in cmd or "jupyter-lab" in cmd:
        return "Jupyter server"
    if "chromium" in cmd:
        return "Chromium renderers" if "--type=renderer" in cmd else "Chromium, other"
    return "other"


def cpu_by_role(target: Target) -> dict[str, float]:
    """CPU seconds used so far by the processes on this machine, by :func:`process_role`
    (this process is among "other")."""
    totals: dict[str, float] = {}
    for proc in psutil.process_iter(["cmdline", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        role = process_role(" ".join(proc.info["cmdline"] or []), target)
        totals[role] = totals.get(role, 0.0) + times.user + times.system
    return totals


def renice_workload(target: Target, nice: int) -> None:
    """Set the nice value of every thread of the Jupyter server and of the target kernel."""
    for proc in psutil.process_iter(["cmdline"]):
        role = process_role(" ".join(proc.info["cmdline"] or []), target)
        if role in {"Jupyter server", "target kernel"}:
            for thread in proc.threads():
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, thread.id, nice)


def long_tasks_cpu(trace: bytes, over_ms: float = 50) -> list[tuple[float, float]]:
    """From a Chromium trace (categories ``toplevel`` and ``blink.user_timing``): the busiest
    renderer main thread's tasks longer than ``over_ms`` between the page's marks
    ``jpf-live-start`` and ``jpf-live-end``, each as (wall ms, that thread's own CPU ms). The gap
    between the two is time the thread was ready to run but had no core."""
    data = json.loads(trace)
    events = data["traceEvents"] if isinstance(data, dict) else data
    marks = {e["name"]: e["ts"] for e in events if e.get("name", "").startswith("jpf-live-")}
    start, end = marks.get("jpf-live-start", 0), marks.get("jpf-live-end", float("inf"))
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    tasks: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if (
            key in mains
            and e.get("ph") == "X"
            and e.get("name") == "ThreadControllerImpl::RunTask"
            and start <= e["ts"] <= end
        ):
            tasks.setdefault(key, []).append((e.get("dur", 0) / 1000, e.get("tdur", 0) / 1000))
    if not tasks:
        return []
    busiest = max(tasks.values(), key=lambda ts: sum(w for w, _ in ts))
    return [(wall, cpu) for wall, cpu in busiest if wall > over_ms]


# ------------------------------------------------------------------------------- jpf_widget


class MonitorPage:
    def __init__(self, front: Front, server: Server, target: Target, name: str) -> None:
        path = server.write_notebook(
            f"{name}.ipynb",
            [
                "from jpf_widget import Monitor\n"
                f'm = Monitor("{target.kernel_id}"{f", density={DENSITY!r}" if DENSITY else ""})\n'
                "m"
            ],
        )
        self.page = open_notebook(front, server, path)
        run_cell(self.page, 0)
        self.page.locator(".jpf-monitor[data-status=connected]").wait_for(timeout=60_000)
        self.page.evaluate(PAGE_JS)
        self.target = target

    def ev(self, js: str, arg: Any = None) -> Any:
        return self.page.evaluate(js, arg)

    def burst(self, n: int, timeout: float = 180) -> dict[str, Any]:
        """The target sends n comm messages; time until the monitor shows them all (captured
        counter, and the last one as the newest visible row), longest task meanwhile."""
        self.page.bring_to_front()
        before = self.ev("() => __jpf.counter('captured')")
        lost_before = max(0, self.ev("() => __jpf.counter('lost')"))
        p0 = self.ev(
            "([c, i, t, s]) => __jpf.armDone(c, i, t, s)",
            [before + n + 5 - lost_before, n - 1, timeout * 1000, STALL_SECONDS * 1000],
        )
        sent_at = time.time() * 1000
        msg_id = self.target.execute(BURST_CODE.format(n=n))
        reply = self.target.wait(msg_id, timeout)
        kernel_done = time.time() * 1000
        done = self.ev("() => window.__jpfDone")
        tasks = self.ev("([a, b]) => __jpf.longTasks(a, b)", [p0, done["p1"]])
        newest = done.get("newest") or {}
        return {
            "ok": done["ok"],
            "why": done.get("why", ""),
            "seconds": (done["wall"] - sent_at) / 1000,
            "kernel_seconds": (kernel_done - sent_at) / 1000,
            "captured": done["captured"] - before,
            "lost": done["lost"] - lost_before,
            "newest_i": newest.get("i", -1),
            "tasks": tasks,
            "reply": reply.get("status"),
        }


def jpf_items_5(mon: MonitorPage, rows: list[dict[str, Any]], server: str) -> None:
    # -- 5a: 100,000 messages in the log
    say(f"5a: {BIG:,} comm messages")
    big = mon.burst(BIG, timeout=240)
    dom = mon.ev("() => __jpf.dom()")
    say("5a:", big, dom)
    rows += [
        row(
            "5a",
            "jpf_widget",
            server,
            f"{BIG:,} msgs: the last one shown after",
            f"{big['seconds']:.1f} s (kernel sent them in {big['kernel_seconds']:.1f} s)"
            + ("" if big["ok"] else f" NOT ALL: {big['why']}, newest i shown {big['newest_i']:,}"),
            "",
        ),
        row(
            "5a",
            "jpf_widget",
            server,
            "this burst: captured / possible loss (counters)",
            f"{big['captured']:,} / {big['lost']:,}",
            f"{BIG + 5:,} / 0",
        ),
        row(
            "5a",
            "jpf_widget",
            server,
            "captured counter / rows listed (the view's window; shown counter)",
            f"{dom['captured']:,} / {dom['shown']:,}",
            f">= {BIG:,} / the window",
        ),
        row(
            "5a",
            "jpf_widget",
            server,
            "[data-role=row] elements in the DOM",
            dom["rows"],
            "<= a few hundred",
        ),
        row(
            "5a",
            "jpf_widget",
            server,
            "elements inside .jpf-monitor / whole page",
            f"{dom['monitorElements']:,} / {dom['documentElements']:,}",
            "",
        ),
        row("5a", "jpf_widget", server, "JS heap used", f"{dom['heapMB']:.0f} MB", ""),
        row(
            "5a",
            "jpf_widget",
            server,
            "longest main-thread task while they arrived",
            f"{big['tasks']['max']:.0f} ms ({big['tasks']['count']} tasks > 50 ms)",
            "",
        ),
    ]

    # -- 5b: filter changes on that log
    page = mon.page
    # comm_close: the burst's last message, so surely within the view's window of the newest rows
    chip = ".jpf-monitor [data-role=filter-type][data-msg-type=comm_close]"
    text = ".jpf-monitor [data-role=filter-text]"
    needle = f"{BIG - 1}}}"  # the last message's data ends so; free text in every view
    steps: list[tuple[str, str, str, str, Callable[[], None]]] = [
        ("type chip comm_close on", "click", "allType", "comm_close", lambda: page.click(chip)),
        (
            "type chip comm_close off",
            "click",
            "someOtherType",
            "comm_close",
            lambda: page.click(chip),
        ),
        (
            f"text {needle!r} (100 ms debounce)",
            "input",
            "allText",
            needle,
            lambda: page.fill(text, needle),
        ),
        (
            "text cleared (100 ms debounce)",
            "input",
            "someNotText",
            needle,
            lambda: page.fill(text, ""),
        ),
    ]
    for label, event, kind, arg, act in steps:
        mon.ev("([e, k, a]) => __jpf.armFilter(e, k, a)", [event, kind, arg])
        act()
        got = mon.ev("() => window.__jpfFilter")
        say("5b:", label, got)
        value = (
            "did not happen in 5 s"
            if got["dom"] < 0
            else f"{got['dom']:.0f} ms (next frame {got['frame']:.0f} ms, {got['rows']} rows)"
        )
        rows.append(row("5b", "jpf_widget", server, f"filter: {label}", value, "<= 100 ms"))
    page.wait_for_timeout(300)

    # -- 5c: live stream
    live_stream(mon, rows, server)
    # The same again with the workload (the Jupyter server and the flooding kernel, not the
    # monitor or the browser) at a lower priority: the same work, done when the cores are free.
    # A diagnostic: it tells the view's own long tasks from tasks stretched by waiting for a core.
    renice_workload(mon.target, 15)
    try:
        live_stream(mon, rows, server, "[server and target kernel at nice 15] ")
    finally:
        renice_workload(mon.target, 0)


def live_stream(mon: MonitorPage, rows: list[dict[str, Any]], server: str, label: str = "") -> None:
    """5c: a stream paced at LIVE_RATE for LIVE_SECONDS; its rows' measures start with label."""
    say(f"5c: live stream {LIVE_RATE}/s for {LIVE_SECONDS} s {label}")
    browser = mon.page.context.browser
    assert browser is not None
    # A trace of top-level tasks only (cheap), to tell a task's own work from waiting for a core.
    browser.start_tracing(page=mon.page, categories=["toplevel", "blink.user_timing"])
    cpu0, wall0 = cpu_by_role(mon.target), time.monotonic()
    p0 = mon.ev("(d) => __jpf.armLive(d)", (LIVE_SECONDS + 3) * 1000)
    msg_id = mon.target.execute(LIVE_CODE.format(rate=LIVE_RATE, total=LIVE_RATE * LIVE_SECONDS))
    mon.target.wait(msg_id, LIVE_SECONDS + 60)
    elapsed = float(mon.target.expression("live_elapsed"))
    live = mon.ev("() => window.__jpfLive")
    cpu1, wall = cpu_by_role(mon.target), time.monotonic() - wall0
    traced = long_tasks_cpu(browser.stop_tracing())
    used = {role: cpu1[role] - cpu0.get(role, 0.0) for role in cpu1}
    busy = sum(used.values()) / (wall * (psutil.cpu_count() or 1))
    by_role = ", ".join(f"{role} {s:.1f}" for role, s in sorted(used.items(), key=lambda x: -x[1]))
    tasks = mon.ev("([a, b]) => __jpf.longTasks(a, b)", [p0, live["p1"]])
    lat = live["lat"]
    sent = LIVE_RATE * LIVE_SECONDS
    say("5c:", label, {k: v for k, v in live.items() if k != "lat"}, tasks, f"{len(lat)} samples")
    rows += [
        row(
            "5c",
            "jpf_widget",
            server,
            label + "kernel sent",
            f"{sent:,} in {elapsed:.1f} s ({sent / elapsed:,.0f}/s)",
            f"{LIVE_RATE:,}/s",
        ),
        row(
            "5c",
            "jpf_widget",
            server,
            label + "longest main-thread task",
            f"{tasks['max']:.0f} ms" if tasks["supported"] else "Long Tasks API unavailable",
            "<= 50 ms",
        ),
        row("5c", "jpf_widget", server, label + "tasks > 50 ms", tasks["count"], "0"),
        row(
            "5c",
            "jpf_widget",
            server,
            label + "tasks > 50 ms in a trace: wall / the main thread's own CPU, ms",
            "; ".join(f"{w:.0f} / {c:.0f}" for w, c in traced) or "none",
            "",
        ),
        row(
            "5c",
            "jpf_widget",
            server,
            label + "CPU seconds used meanwhile, by process (all cores busy)",
            f"{by_role} ({busy:.0%} over {wall:.0f} s)",
            "",
        ),
        row(
            "5c",
            "jpf_widget",
            server,
            label + "newest row on screen: age when it appears, p50 / p95 / max",
            f"{pct(lat, 0.5):.0f} / {pct(lat, 0.95):.0f} / {max(lat, default=float('nan')):.0f} ms"
            f" ({len(lat)} samples)",
            "p95 <= 250 ms",
        ),
        row(
            "5c",
            "jpf_widget",
            server,
            label + "list updates seen (each sampled at its next frame)",
            f"{live['updates']:,}",
            "",
        ),
        row(
            "5c",
            "jpf_widget",
            server,
            label + "last message shown during the window",
            f"i = {live['lastI']:,} of {sent - 1:,}",
            "",
        ),
    ]


# ------------------------------------------------------------------------------- kernelspy


def kernelspy(front: Front, server: Server, name: str, n: int, timeout: float) -> dict[str, Any]:
    path = server.write_notebook(f"{name}.ipynb", [BURST_CODE.format(n=n).strip()])
    page = open_notebook(front, server, path)
    kernel_id = server.wait_kernel_ready(path)
    page.locator(".jp-kernelspy-nbtoolbarbutton").first.click()
    page.locator(".jp-kernelspy-view").first.wait_for(state="visible")
    page.evaluate(PAGE_JS)
    p0 = page.evaluate("(n) => __jpf.armSpy(n)", n)
    frames_before = page.evaluate("() => window.__wsCommMsgs")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".cm-content").click()
    cell.locator(".cm-editor.cm-focused").wait_for()
    started = time.time() * 1000
    page.keyboard.press("Control+Enter")
    result: dict[str, Any] = {}
    slowest_answer = 0.0
    while True:
        time.sleep(2)
        t = time.time() * 1000
        ks = page.evaluate(
            "() => ({n: __ks.n, changedWall: __ks.changedWall, doneWall: __ks.doneWall,"
            " donePerf: __ks.donePerf})"
        )
        answer_ms = time.time() * 1000 - t
        slowest_answer = max(slowest_answer, answer_ms)
        state = server.api("GET", f"/api/kernels/{kernel_id}").get("execution_state")
        say(f"kernelspy: {ks['n']:,} shown, kernel {state}, page answered in {answer_ms:.0f} ms")
        if ks["doneWall"]:
            result = {
                "ok": True,
                "seconds": (ks["doneWall"] - started) / 1000,
                "perf_end": ks["donePerf"],
            }
            break
        if (
            state == "idle"
            and ks["n"] > 0
            and time.time() * 1000 - ks["changedWall"] > SPY_STALL_SECONDS * 1000
        ):
            result = {
                "ok": False,
                "why": f"stopped growing (no change in {SPY_STALL_SECONDS:.0f} s)",
                "last_change": (ks["changedWall"] - started) / 1000,
            }
            break
        if time.time() * 1000 - started > timeout * 1000:
            result = {"ok": False, "why": f"did not finish in {timeout:.0f} s"}
            break
    final = page.evaluate(
        """(w) => ({n: __ks.n, now: performance.now(), frames: window.__wsCommMsgs,
                    warned: [...document.querySelectorAll('.jp-OutputArea-output')]
                            .some(e => e.textContent.includes(w))})""",
        RATE_LIMIT_WARNING,
    )
    end = result.get("perf_end", final["now"])
    tasks = page.evaluate("([a, b]) => __jpf.longTasks(a, b)", [p0, end])
    result.update(
        received=final["frames"] - frames_before,
        shown=final["n"],
        warned=final["warned"],
        tasks=tasks,
        slowest_answer=slowest_answer,
        elapsed=(time.time() * 1000 - started) / 1000,
    )
    say("kernelspy:", result)
    with contextlib.suppress(Exception):
        page.close()
    return result


# ------------------------------------------------------------------------------- run


def item_6_rows(
    server: str, jpf: dict[str, Any], spy: dict[str, Any] | None, n: int
) -> list[dict[str, Any]]:
    if jpf["ok"] and not jpf["lost"]:
        jpf_value = f"all {n:,} shown in {jpf['seconds']:.1f} s"
    elif jpf["ok"]:
        jpf_value = f"the last one (i = {n - 1:,}) shown in {jpf['seconds']:.1f} s"
    else:
        jpf_value = f"not all ({jpf['why']}): newest i shown {jpf['newest_i']:,}"
    jpf_value += (
        f"; captured {jpf['captured']:,} of the {n + 5:,} messages of that cell,"
        f" possible loss {jpf['lost']:,}"
    )
    jpf_task = f"{jpf['tasks']['max']:.0f} ms ({jpf['tasks']['count']} tasks > 50 ms)"
    if spy is None:
        return [
            row("6", "jpf_widget", server, f"{n:,} comm msgs: time until all shown", jpf_value),
            row("6", "jpf_widget", server, "longest main-thread task meanwhile", jpf_task),
            row("6", "kernelspy", server, "not installed", "pip install jupyterlab-kernelspy"),
        ]
    if spy["ok"]:
        spy_value = f"all {n:,} shown in {spy['seconds']:.1f} s"
    elif "last_change" in spy:
        last = spy["last_change"]
        spy_value = f"{spy['why']}: showed {spy['shown']:,} of {n:,}, the last at {last:.0f} s"
    else:
        spy_value = f"{spy['why']}: showed {spy['shown']:,} of {n:,} after {spy['elapsed']:.0f} s"
    spy_value += f"; comm_msg frames that reached its page: {spy['received']:,}"
    if spy["warned"]:
        spy_value += "; the notebook got the server's rate-limit warning"
    return [
        row("6", "jpf_widget", server, f"{n:,} comm msgs: time until all shown", jpf_value),
        row("6", "kernelspy 4.0.0", server, f"{n:,} comm msgs: time until all shown", spy_value),
        row("6", "jpf_widget", server, "longest main-thread task meanwhile", jpf_task),
        row(
            "6",
            "kernelspy 4.0.0",
            server,
            "longest main-thread task meanwhile",
            f"{spy['tasks']['max']:.0f} ms ({spy['tasks']['count']} tasks > 50 ms,"
            f" {spy['tasks']['total'] / 1000:.1f} s in all)",
        ),
        row(
            "6",
            "kernelspy 4.0.0",
            server,
            "slowest answer of its page to a trivial evaluate",
            f"{spy['slowest_answer'] / 1000:.1f} s",
        ),
    ]


def one_server(browser: Browser, base: Path, limit: bool, full: bool) -> list[dict[str, Any]]:
    label = "default (1000 msgs/s)" if limit else "lifted (limit_rate=False)"
    server_config(base, limit)
    say(f"server, iopub limit {label}")
    server = start_server("lab", base)
    rows: list[dict[str, Any]] = []
    contexts = []
    target = None
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(ctx)
        ctx.add_init_script(INIT_SCRIPT)
        front = Front(ctx)
        target = Target(server)
        mon = MonitorPage(front, server, target, "monitor")
        say(f"item 6, jpf_widget: {BURST:,} comm messages")
        jpf = mon.burst(BURST)
        say("jpf:", jpf)
        if full:
            jpf_items_5(mon, rows, label)
        mon.page.close()
        target.close()
        target = None

        if front.errors:
            say("monitor page console errors:", *front.errors)
        errors = [e for e in front.errors if "jpf" in e.lower() or "anywidget" in e.lower()]
        if errors:
            rows.append(
                row("-", "jpf_widget", label, "browser console errors", "; ".join(errors)[:300])
            )

        if ONLY_5:
            return rows
        try:
            spy_version = importlib.metadata.version("jupyterlab-kernelspy")
        except importlib.metadata.PackageNotFoundError:
            rows += item_6_rows(label, jpf, None, BURST)
            return rows
        say(f"jupyterlab-kernelspy {spy_version}")
        spy_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(spy_ctx)
        spy_ctx.add_init_script(INIT_SCRIPT)
        spy_ctx.add_init_script(COUNT_WEBSOCKET_FRAMES)
        say(f"item 6, kernelspy: {BURST:,} comm messages (timeout {SPY_TIMEOUT:.0f} s)")
        spy = kernelspy(Front(spy_ctx), server, "spied", BURST, SPY_TIMEOUT)
        rows += item_6_rows(label, jpf, spy, BURST)
    finally:
        if target is not None:
            target.close()
        for c in contexts:
            with contextlib.suppress(Exception):
                c.close()
        server.stop()
    return rows


def run() -> list[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    base = Path(tempfile.mkdtemp(prefix="jpf-bench-browser-"))
    rows: list[dict[str, Any]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            rows += one_server(browser, base / "limited", limit=True, full=True)
            if not ONLY_5:
                rows += one_server(browser, base / "unlimited", limit=False, full=False)
        finally:
            browser.close()
    order = {"5a": 0, "5b": 1, "5c": 2, "6": 3}
    return sorted(rows, key=lambda r: order.get(r["item"], 9))
