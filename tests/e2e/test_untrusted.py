"""Hostile and huge messages from a target kernel, rendered by the Monitor in a real JupyterLab.

The target kernel is started through the server's REST API (so its connection file sits in the
server's runtime dir, where the monitor's kernel finds it) and driven by a jupyter_client
``BlockingKernelClient`` from the test: its hostile outputs are never rendered by JupyterLab
itself, only by the monitor's view in the monitor notebook's page.

What must hold in the monitor's page, after the rows rendered their content inline (comfortable
density, the default) and then every row was expanded and every mime type of every bundle chosen
through the select (rendered and raw, in compact density, where all rows fit on screen):

- no script ran: ``window.__jpf_pwned`` stays undefined (also after clicking the hostile links);
- no request left for anything but the Jupyter server's own origin (a recorder on
  ``page.on("request")``; the "evil" origin is a real HTTP server on 127.0.0.2 that counts hits);
- the notebook around the widget is untouched: same number of cells, same title, same URL, no
  injected element outside the widget;
- javascript is shown as source text;
- the connection file's key appears nowhere in the page.

Huge messages (10 MB of stream text, JSON nested 10,000 deep, a 200,000-key object) show inline
(comfortable density) and expand (compact) without freezing: ``1+1`` answers within 2 s and the
longest main-thread task (Long Tasks API, installed before the page loads) stays under 2 s. The
numbers are printed.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from playwright.sync_api import Locator, Page, Request, expect

from .conftest import Front, Server, run_cell, shoot, wait_notebook_ready, wait_until

pytestmark = pytest.mark.e2e

EVIL_HOST = "127.0.0.2"

LONGTASKS_JS = """
window.__jpf_longtasks = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__jpf_longtasks.push(Math.round(e.duration));
  }).observe({ type: "longtask", buffered: true });
  window.__jpf_longtask_ok = true;
} catch (e) {
  window.__jpf_longtask_ok = false;
}
"""


# ------------------------------------------------------------------------------- helpers


@dataclass
class EvilServer:
    """An HTTP server on 127.0.0.2 that records every request it gets."""

    base: str
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def evil() -> Iterator[EvilServer]:
    record = EvilServer(base="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.hits.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"pwned")

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer((EVIL_HOST, 0), Handler)
    record.base = f"http://{EVIL_HOST}:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield record
    httpd.shutdown()
    httpd.server_close()


class TargetKernel:
    """A kernel started by the Jupyter server (REST), run from the test by a kernel client."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.id = str(server.api("POST", "/api/kernels", {"name": "python3"})["id"])
        self.connection_file = server.runtime_dir / f"kernel-{self.id}.json"
        self.client = BlockingKernelClient(connection_file=str(self.connection_file))

        def loaded() -> bool:  # the file may not be there yet, or be half-written
            try:
                self.client.load_connection_file()
            except (OSError, ValueError):  # json.JSONDecodeError is a ValueError
                return False
            return True

        wait_until(loaded, 30, f"the connection file of kernel {self.id}", poll=0.05)
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        server.remember_kernels()

    @property
    def key(self) -> str:
        return str(json.loads(self.connection_file.read_text())["key"])

    def run(self, code: str, timeout: float = 60, allow_error: bool = False) -> dict[str, Any]:
        msg_id = self.client.execute(code, store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if not allow_error:
            assert content["status"] == "ok", content
        return dict(content)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        with contextlib.suppress(Exception):
            self.server.api("DELETE", f"/api/kernels/{self.id}")


def open_monitor(
    front: Front, server: Server, name: str, target: TargetKernel
) -> tuple[Page, list[str]]:
    """The monitor notebook in a fresh page with the long-task observer installed before
    anything loads and every request URL recorded; runs the Monitor cell, waits connected."""
    path = server.write_notebook(
        name, [f'from jpf_widget import Monitor\nm = Monitor("{target.id}")\nm']
    )
    page = front.new_page(name)
    requests: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    page.on("request", on_request)
    page.add_init_script(LONGTASKS_JS)
    workspace = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")
    page.goto(server.notebook_url(path, workspace))
    wait_notebook_ready(page, server, path)
    run_cell(page, 0)
    expect(page.locator(".jpf-monitor")).to_have_attribute("data-status", "connected")
    return page, requests


def foreign(requests: list[str], server: Server) -> list[str]:
    """Request URLs to anything but the Jupyter server's origin (data:/blob: stay local)."""
    return [
        url
        for url in requests
        if not (url.startswith(server.url + "/") or url.startswith(("data:", "blob:")))
    ]


def rows(page: Page, msg_type: str = "") -> Locator:
    sel = "[data-role=row]" + (f"[data-msg-type={msg_type}]" if msg_type else "")
    return page.locator(f".jpf-monitor {sel}")


def only_type(page: Page, msg_type: str) -> None:
    """Show only ``msg_type`` rows (the type chip), so they all fit on screen."""
    chips = page.locator(".jpf-monitor [data-role=filter-type][aria-pressed=true]")
    for _ in range(chips.count()):
        chips.first.click()
    page.locator(f".jpf-monitor [data-role=filter-type][data-msg-type={msg_type}]").click()
    expect(rows(page).first).to_be_attached()


def seqs_of(page: Page, msg_type: str) -> list[str]:
    return [
        str(s)
        for s in page.eval_on_selector_all(
            f".jpf-monitor [data-role=row][data-msg-type={msg_type}]",
            "els => els.map(e => e.dataset.seq)",
        )
    ]


def pwned(page: Page) -> Any:
    return page.evaluate("window.__jpf_pwned")


def expand(page: Page, seq: str) -> Locator:
    row = page.locator(f".jpf-monitor [data-role=row][data-seq='{seq}']")
    row.scroll_into_view_if_needed()
    row.locator(".jpf-line").click()
    expect(row).to_have_class(re.compile(r"jpf-expanded"))
    expect(row.locator(".jpf-loading")).to_have_count(0, timeout=30_000)
    return row


def collapse(page: Page, seq: str) -> None:
    row = page.locator(f".jpf-monitor [data-role=row][data-seq='{seq}']")
    row.scroll_into_view_if_needed()
    row.locator(".jpf-line").click()
    expect(row).not_to_have_class(re.compile(r"jpf-expanded"))


INJECTED_OUTSIDE = """() => [...document.querySelectorAll('[id^="jpf-inj"]')]
    .filter(e => !e.closest('.jpf-monitor')).length"""


# ------------------------------------------------------------------------------- hostile


def hostile_payloads(evil: str) -> dict[str, str]:
    return {
        "script": "<script>window.__jpf_pwned=1</script><b id=jpf-inj-script>script</b>",
        "img-onerror": '<img id=jpf-inj-img src=x onerror="window.__jpf_pwned=2">',
        "js-link": '<a id=jpf-inj-link href="javascript:window.__jpf_pwned=3">click me</a>',
        "iframes": (
            '<iframe src="javascript:parent.__jpf_pwned=7"></iframe>'
            '<iframe srcdoc="<script>parent.__jpf_pwned=8</script>"></iframe>'
            f'<iframe src="{evil}/iframe"></iframe>'
        ),
        "form": (
            f'<form action="{evil}/form"><input type=submit id=jpf-inj-submit value=go></form>'
            f'<button id=jpf-inj-button formaction="{evil}/formaction">go</button>'
        ),
        "meta": (
            f'<meta http-equiv="refresh" content="0;url={evil}/meta">'
            f'<title>pwned title</title><base href="{evil}/base/"><a href="rel">relative</a>'
        ),
        "css": (
            f"<style>@import url({evil}/import.css); body{{background:url({evil}/css-body)}}"
            "</style>"
            f'<div id=jpf-inj-css style="background:url({evil}/css-inline)">css</div>'
            f'<div style="background:u\\72l({evil}/css-escaped)">escaped url</div>'
            f"<div style=\"background-image:image-set('{evil}/css-imageset' 1x)\">set</div>"
            f'<link rel=stylesheet href="{evil}/link.css">'
        ),
        "img": (
            f'<img src="{evil}/img"><img srcset="{evil}/srcset 1x">'
            f'<picture><source srcset="{evil}/source"><img alt=p></picture>'
            f'<video poster="{evil}/poster" src="{evil}/video"></video>'
            f'<audio src="{evil}/audio"></audio><object data="{evil}/object"></object>'
            f'<embed src="{evil}/embed"><input type=image src="{evil}/inputimage">'
            f'<table background="{evil}/tablebg"><tr><td>t</td></tr></table>'
            f'<a ping="{evil}/ping" href="#x">ping</a>'
        ),
        "svg-in-html": (
            '<svg onload="window.__jpf_pwned=6" width=60 height=20>'
            "<script>window.__jpf_pwned=4</script>"
            f'<image href="{evil}/svgimage" width=5 height=5 />'
            '<a id=jpf-inj-svglink><animate attributeName="href" '
            'values="javascript:window.__jpf_pwned=9"/>'
            '<set attributeName="href" to="javascript:window.__jpf_pwned=10"/>'
            "<text x=5 y=15>svg link</text></a></svg>"
        ),
    }


def hostile_svg(evil: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__jpf_pwned=11" '
        'width="40" height="40"><script>window.__jpf_pwned=4</script>'
        f'<image href="{evil}/svg-image" width="10" height="10"/>'
        f'<use href="{evil}/use.svg#a"/>'
        f'<filter id="f"><feImage href="{evil}/feimage"/></filter>'
        '<foreignObject width="10" height="10"><iframe src="javascript:parent.__jpf_pwned=12">'
        "</iframe></foreignObject>"
        f"<style>@import url({evil}/svg-style);</style>"
        '<circle r="5" cx="10" cy="10" fill="red"/></svg>'
    )


JS_SOURCE = "window.__jpf_pwned=5"


def hostile_code(evil: str) -> list[str]:
    """Code for the target kernel: every payload as a display bundle (all mime kinds), then an
    execute_result, an update, a stream, an error and comm messages carrying HTML."""
    payloads = hostile_payloads(evil)
    setup = (
        "from IPython.display import display, publish_display_data, update_display, HTML\n"
        f"PAYLOADS = {payloads!r}\n"
        f"SVG = {hostile_svg(evil)!r}\n"
        "def bundle(name):\n"
        "    html = PAYLOADS[name]\n"
        "    return {'text/html': html, 'image/svg+xml': SVG,\n"
        f"            'application/javascript': {JS_SOURCE!r}, 'text/markdown': html,\n"
        "            'text/latex': html, 'application/json': {'html': html},\n"
        "            'text/plain': 'hostile ' + name}\n"
    )
    cells = [setup]
    for i, name in enumerate(payloads):
        if i % 2:
            cells.append(f"publish_display_data(bundle({name!r}))")
        else:
            cells.append(f"display(bundle({name!r}), raw=True)")
    cells += [
        "display(bundle('script'), raw=True, display_id='jpfupd')\n"
        "update_display(bundle('img'), raw=True, display_id='jpfupd')",
        "HTML(PAYLOADS['script'] + PAYLOADS['js-link'])",
        "print('\\x1b[31mred\\x1b[0m ' + PAYLOADS['img-onerror'] + PAYLOADS['img'] + "
        "' \\x1b]8;;javascript:window.__jpf_pwned=14\\x1b\\\\osc8 link\\x1b]8;;\\x1b\\\\', "
        "flush=True)",
        "from comm import create_comm\n"
        "c = create_comm(target_name='jpf.evil', data={'html': PAYLOADS['script']})\n"
        "c.send({'html': PAYLOADS['img'], 'svg': SVG})",
    ]
    return cells


HOSTILE_ERROR = "raise ValueError(PAYLOADS['img-onerror'] + PAYLOADS['js-link'])"

BUNDLE_TYPES = ("display_data", "execute_result", "update_display_data")


SEEN_JS = """row => [...row.querySelectorAll('[data-role=rendered-output] [id^="jpf-inj"]')]
    .map(e => e.id + (e.hasAttribute('href') || e.hasAttribute('style') ? '+attr' : ''))"""
BLOCKED_JS = "row => row.querySelectorAll('[data-jpf-blocked]').length"


def exercise_row(page: Page, seq: str, seen: set[str], blocked: list[int]) -> int:
    """Expand a row, choose each of its mime types, click the hostile links and buttons inside,
    look at it raw, collapse it; returns how many mime types were shown."""
    row = expand(page, seq)
    shown = 0
    select = row.locator("select[data-role=mime-select]")
    mimes = (
        select.locator("option").evaluate_all("os => os.map(o => o.value)")
        if (select.count())
        else []
    )
    for mime in mimes:
        select.select_option(mime)
        output = row.locator(f"[data-role=rendered-output] [data-mime='{mime}']")
        expect(output).to_be_attached()
        shown += 1
        if mime == "application/javascript":
            expect(output).to_contain_text(JS_SOURCE)  # as text, never run
            expect(output).to_contain_text("shown as source")
        for sel in ("#jpf-inj-link", "#jpf-inj-svglink text", "#jpf-inj-submit", "#jpf-inj-button"):
            hit = row.locator(sel)
            for k in range(hit.count()):
                with contextlib.suppress(Exception):
                    hit.nth(k).click(timeout=2000)
        seen.update(row.evaluate(SEEN_JS))
        blocked.append(int(row.evaluate(BLOCKED_JS)))
        page.wait_for_timeout(50)  # let anything that would load or run start
        assert pwned(page) is None, f"script ran: {pwned(page)} after {mime} of row {seq}"
    if not mimes:
        expect(row.locator("[data-role=rendered-output]")).to_be_attached()
        for k in range(row.locator("a").count()):
            with contextlib.suppress(Exception):
                row.locator("a").nth(k).click(timeout=2000)
    row.locator("[data-role=toggle-raw]").click()
    expect(row.locator("[data-role=raw-json]")).to_be_attached()
    assert pwned(page) is None, f"script ran: {pwned(page)} in row {seq}"
    collapse(page, seq)
    return shown


def test_hostile_outputs_do_not_run_or_fetch(
    lab_server: Server, front: Front, evil: EvilServer, screenshots: Path
) -> None:
    started = time.monotonic()
    target = TargetKernel(lab_server)
    try:
        page, requests = open_monitor(front, lab_server, "untrusted-monitor.ipynb", target)
        cells_before = page.locator(".jp-Notebook .jp-Cell").count()
        title_before = page.title()
        url_before = page.url
        navigations: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
        )

        for code in hostile_code(evil.base):
            target.run(code)
        target.run(HOSTILE_ERROR, allow_error=True)
        target.run("print('all hostile output sent', flush=True)")
        expect(rows(page, "stream").filter(has_text="all hostile output sent")).to_be_attached()

        # comfortable density (the default): the rows on screen render their content inline,
        # without a click, sanitized as in an opened row
        expect(page.locator(".jpf-monitor")).to_have_attribute("data-density", "comfortable")
        seen: set[str] = set()
        inline_shown = 0
        for msg_type in (*BUNDLE_TYPES, "stream", "error", "comm_open", "comm_msg"):
            only_type(page, msg_type)
            inline = rows(page, msg_type).filter(
                has=page.locator("[data-role=preview] [data-role=rendered-output]")
            )
            expect(inline.first).to_be_attached()
            for k in range(inline.count()):
                seen.update(inline.nth(k).evaluate(SEEN_JS))
                inline_shown += 1
            assert pwned(page) is None, f"script ran: {pwned(page)} in a {msg_type} preview"
        assert inline_shown >= len(BUNDLE_TYPES) + 4
        assert not [x for x in seen if x.endswith("+attr")], seen
        shoot(page, screenshots, "untrusted-0-inline")

        # every row opened, every mime type chosen: in compact density, where they all fit
        density = page.locator(".jpf-monitor [data-role=density]")
        density.click()
        expect(page.locator(".jpf-monitor")).to_have_attribute("data-density", "compact")
        counts: dict[str, int] = {}
        blocked: list[int] = []
        for msg_type in (*BUNDLE_TYPES, "stream", "error", "comm_open", "comm_msg"):
            only_type(page, msg_type)
            seqs = seqs_of(page, msg_type)
            assert seqs, f"no {msg_type} rows"
            mimes = 0
            for seq in seqs:
                mimes += exercise_row(page, seq, seen, blocked)
            counts[msg_type] = len(seqs)
            if mimes:
                counts[f"{msg_type} mime views"] = mimes
        assert counts["display_data"] >= len(hostile_payloads(evil.base)) + 1
        assert counts["display_data mime views"] >= 7 * len(hostile_payloads(evil.base))
        # the payloads were really rendered (sanitized), not skipped: their harmless parts are
        # in the widget, their handlers, hrefs and styles gone, their URLs marked blocked
        rendered_ids = {"jpf-inj-script", "jpf-inj-img", "jpf-inj-link", "jpf-inj-css"}
        assert rendered_ids | {"jpf-inj-svglink"} <= seen, seen
        assert not [x for x in seen if x.endswith("+attr")], seen
        assert sum(blocked) > 0

        # the last bundle open in rendered mode, for the screenshot; then a moment for anything
        # that would still load or run
        only_type(page, "display_data")
        last = expand(page, seqs_of(page, "display_data")[0])
        last.locator("[data-role=toggle-raw]").click()  # it was left raw: back to rendered
        last.locator("select[data-role=mime-select]").select_option("text/html")
        expect(last.locator("[data-role=rendered-output] [data-mime='text/html']")).to_be_attached()
        shoot(page, screenshots, "untrusted-1-hostile")
        page.wait_for_timeout(500)

        assert pwned(page) is None
        assert page.evaluate(INJECTED_OUTSIDE) == 0
        assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
        assert page.title() == title_before
        assert page.url == url_before
        assert not foreign(navigations, lab_server), navigations
        assert not foreign(requests, lab_server), foreign(requests, lab_server)
        assert not evil.hits, evil.hits
        assert target.key not in page.content()
        front.check_console()
        print(
            f"\nhostile outputs: {counts}; {len(requests)} requests, all to {lab_server.url}; "
            f"took {time.monotonic() - started:.1f} s"
        )
    finally:
        target.stop()


# ------------------------------------------------------------------------------- huge

DEPTH = 10_000

# Content packed by hand: Python's json (and orjson) refuse nesting this deep, so the kernel's
# session is given the bytes as they are (Session.serialize passes bytes content through).
HUGE_CODE = [
    # 10 MB of stream text in 100,000 coloured lines
    "import sys\n"
    "line = '\\x1b[32mline\\x1b[0m %06d ' + 'x' * 85 + '\\n'\n"
    "sys.stdout.write(''.join(line % i for i in range(100_000)))\n"
    "sys.stdout.flush()",
    # 10 MB on a single line
    "sys.stdout.write('0123456789' * 1_000_000 + '\\n'); sys.stdout.flush()",
    # display_data with application/json nested deep, and comm messages likewise: 250 (the
    # monitor's encoder takes it), 300 (it parses but cannot re-encode), DEPTH (it cannot parse)
    "k = get_ipython().kernel\n"
    "def deep_send(depth):\n"
    "    deep = b'{\"a\":' * depth + b'1' + b'}' * depth\n"
    "    k.session.send(k.iopub_socket, 'display_data', parent=k.get_parent('shell'),\n"
    '        content=b\'{"data": {"application/json": \' + deep + b\', "text/plain": \'\n'
    '                b\'"deep"}, "metadata": {}, "transient": {}}\', ident=b\'display_data\')\n'
    "    k.session.send(k.iopub_socket, 'comm_msg', parent=k.get_parent('shell'),\n"
    '        content=b\'{"comm_id": "deep%d", "data": \' % depth + deep + b\'}\',\n'
    "        ident=b'comm_msg')\n"
    f"for depth in (250, 300, {DEPTH}):\n"
    "    deep_send(depth)",
    # wide: an object with 200,000 keys
    "from IPython.display import display\n"
    "display({'application/json': {'k%d' % i: i for i in range(200_000)},\n"
    "         'text/plain': 'wide'}, raw=True)",
]


def measure(page: Page, label: str, action: Any) -> dict[str, Any]:
    page.evaluate("window.__jpf_longtasks = []")
    t0 = time.monotonic()
    action()
    acted = time.monotonic() - t0
    page.wait_for_timeout(300)  # let the drawing that follows finish (and be observed)
    t1 = time.monotonic()
    assert page.evaluate("1+1") == 2
    answer = time.monotonic() - t1
    tasks = page.evaluate("window.__jpf_longtasks")
    longest = max(tasks, default=0)
    result = {"case": label, "action_s": round(acted, 2), "eval_s": round(answer, 3)}
    result |= {"longest_task_ms": longest, "long_tasks": len(tasks)}
    print(f"  {result}")
    assert answer < 2.0, result
    assert longest < 2000, result
    return result


def test_huge_messages_do_not_freeze(
    lab_server: Server, front: Front, evil: EvilServer, screenshots: Path
) -> None:
    started = time.monotonic()
    target = TargetKernel(lab_server)
    try:
        page, requests = open_monitor(front, lab_server, "huge-monitor.ipynb", target)
        assert page.evaluate("window.__jpf_longtask_ok") is True
        for code in HUGE_CODE:
            target.run(code, timeout=120)
        target.run("print('all huge output sent', flush=True)")
        expect(rows(page, "stream").filter(has_text="all huge output sent")).to_be_attached(
            timeout=60_000
        )
        cases = [
            ("stream", "stream 10 MB"),
            ("display_data", "display_data"),
            ("comm_msg", "comm_msg deep"),
        ]
        # comfortable density (the default): the rows on screen show their content inline
        print("\nlong tasks (ms) while showing huge messages inline:")
        results = []
        for msg_type, label in cases:
            results.append(
                measure(
                    page,
                    f"{label} inline",
                    lambda t=msg_type: (
                        only_type(page, t),
                        expect(rows(page, t).locator("[data-role=preview]").first).to_be_attached(
                            timeout=30_000
                        ),
                    ),
                )
            )
        # then each row opened, raw and collapsed, in compact density (where they all fit)
        page.locator(".jpf-monitor [data-role=density]").click()
        expect(page.locator(".jpf-monitor")).to_have_attribute("data-density", "compact")
        print("long tasks (ms) while expanding huge messages:")
        for msg_type, label in cases:
            only_type(page, msg_type)
            for seq in seqs_of(page, msg_type):
                row = page.locator(f".jpf-monitor [data-role=row][data-seq='{seq}']")
                size = row.locator(".jpf-size").inner_text()
                summary = row.locator(".jpf-summary").inner_text()[:30]
                if msg_type == "stream" and "MB" not in size:
                    continue
                name = f"{label} [{summary!r}, {size}]"
                results.append(measure(page, f"{name} rendered", lambda s=seq: expand(page, s)))
                failed = row.locator("[data-role=body-error]")
                if failed.count():  # the monitor could not send this body: said, not hung
                    results[-1]["shown"] = failed.inner_text()[:120]
                    print(f"    -> {results[-1]['shown']}")
                    collapse(page, seq)
                    continue
                toggle = row.locator("[data-role=toggle-raw]")
                results.append(
                    measure(
                        page,
                        f"{name} raw",
                        lambda r=row, t=toggle: (
                            t.click(),
                            expect(r.locator("[data-role=raw-json]")).to_be_attached(),
                        ),
                    )
                )
                # open the tree's first levels where there is one (rendered json)
                if msg_type != "stream":
                    toggle.click()
                    expect(row.locator("[data-role=rendered-output]")).to_be_attached()
                shoot(page, screenshots, f"untrusted-2-huge-{msg_type}-{seq}")
                results.append(measure(page, f"{name} collapse", lambda s=seq: collapse(page, s)))
        assert len([r for r in results if r["case"].startswith("stream")]) >= 6
        assert len([r for r in results if "deep" in r["case"]]) >= 3
        # depth 250 reaches the browser whole: a tree and raw JSON (cut at depth 100)
        assert any("deep250" in r["case"] and r["case"].endswith("raw") for r in results)
        worst = max(r["longest_task_ms"] for r in results)
        print(f"worst long task: {worst} ms; took {time.monotonic() - started:.1f} s")
        assert not foreign(requests, lab_server), foreign(requests, lab_server)
        assert not evil.hits
        assert target.key not in page.content()
        front.check_console()
    finally:
        target.stop()
