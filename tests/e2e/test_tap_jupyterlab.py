"""Full capture in a real JupyterLab 4, in Chromium: a Monitor on a tapped kernel sees what the
browser sends to it on shell.

Notebook A runs on the ``python3-tap`` kernelspec (``jpf tap install --prefix``, made visible to
the server through ``JUPYTER_PATH``) and shows an ipywidgets slider; notebook B, on a plain
``python3`` kernel, watches A's kernel with a Monitor. The slider is moved in the browser with
the keyboard, and B's Monitor (its Python API, through a cell in B, and its view) must hold the
browser's ``comm_msg`` on shell with the new value, sent to the kernel by the browser's client,
and every cell's ``execute_request`` / ``execute_reply`` pair, with the same client id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from jpf_widget.tap.kernelspec import install

from .conftest import Front, Server, cell_output, open_notebook, run_cell, shoot, start_server
from .test_contrast import audit_in_themes
from .test_jupyterlab import only

pytestmark = pytest.mark.e2e

TAPPED = "python3-tap"
START, MOVES = 3, 3  # the slider's first value; ArrowRight presses
MOVED = START + MOVES
MARK = "TAP-SUMMARY "
WAIT = 40  # s, for the Monitor in B to have captured what A's browser already saw happen

TARGET_CELLS = [
    "import ipywidgets as widgets\n"
    f"slider = widgets.IntSlider(value={START}, min=0, max=10, description='tapped')\n"
    "slider",
    'print("slider at", slider.value)',
]
SLIDER, READ_BACK = range(2)


def monitor_cells(target: str) -> list[str]:
    """B's cells: the Monitor, then a JSON summary of what it holds of A's traffic (once what
    A's browser has seen happen has reached it too)."""
    summary = f"""\
import json
cells = {json.dumps(TARGET_CELLS)}

def is_update(x, value=None):
    data = x.content.get("data") or {{}}
    state = data.get("state") or {{}}
    return (
        x.msg_type == "comm_msg"
        and x.direction == "to_kernel"
        and data.get("method") == "update"
        and "value" in state
        and (value is None or state["value"] == value)
    )

last = m.wait_for(
    lambda x: x.msg_type == "execute_request" and x.content.get("code") == cells[-1], {WAIT}
)
m.wait_for(lambda x: x.msg_type == "execute_reply" and x.parent_id == last.msg_id, {WAIT})
m.wait_for(lambda x: is_update(x, {MOVED}), {WAIT})
held = list(m.messages)

def route(x):
    return {{"channel": x.channel, "direction": x.direction, "client": x.client}}

requests = [x for x in held if x.msg_type == "execute_request" and x.content.get("code") in cells]
replies = {{x.parent_id: x for x in held if x.msg_type == "execute_reply"}}
models = {{
    x.comm_id: (x.content.get("data") or {{}}).get("state", {{}}).get("_model_name")
    for x in held
    if x.msg_type == "comm_open"
}}
out = {{
    "capture": m.capture,
    "executes": [
        {{
            "cell": cells.index(x.content["code"]),
            "request": route(x),
            "reply": (
                {{**route(replies[x.msg_id]), "status": replies[x.msg_id].content.get("status")}}
                if x.msg_id in replies
                else None
            ),
        }}
        for x in requests
    ],
    "updates": [
        {{
            **route(x),
            "value": x.content["data"]["state"]["value"],
            "model": models.get(x.comm_id),
        }}
        for x in held
        if is_update(x)
    ],
    "lost": m.stats["lost"],
}}
print({MARK!r} + json.dumps(out))"""
    return [f'from jpf_widget import Monitor\nm = Monitor("{target}")\nm', summary]


@pytest.fixture(scope="module")
def tap_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A JupyterLab whose kernelspecs include ``python3-tap``, installed in a prefix of its
    own (as ``jpf tap install --name python3 --prefix DIR`` does)."""
    prefix = tmp_path_factory.mktemp("tap-prefix")
    install("python3", prefix=prefix)
    server = start_server(
        "lab",
        tmp_path_factory.mktemp("tap-lab"),
        env={"JUPYTER_PATH": str(prefix / "share" / "jupyter")},
    )
    yield server
    server.stop()


def monitor_view(page: Page) -> Locator:
    return page.locator(".jpf-monitor")


def summary_of(page: Page, index: int) -> dict[str, Any]:
    output = cell_output(page, index)
    expect(output).to_contain_text(MARK)
    text = output.inner_text()
    return dict(json.loads(text[text.index(MARK) + len(MARK) :].strip().splitlines()[0]))


def test_browser_traffic_through_a_tap(tap_lab: Server, front: Front, screenshots: Path) -> None:
    started = time.monotonic()
    specs = tap_lab.api("GET", "/api/kernelspecs")["kernelspecs"]
    assert TAPPED in specs, f"the server does not list {TAPPED}: {sorted(specs)}"
    display_name = specs[TAPPED]["spec"]["display_name"]
    assert display_name.endswith("(tapped)")

    target_path = tap_lab.write_notebook("tapped.ipynb", TARGET_CELLS, TAPPED, display_name)
    target = open_notebook(front, tap_lab, target_path)
    target_id = tap_lab.wait_kernel_ready(target_path)
    kernel = next(s["kernel"] for s in tap_lab.sessions() if s["path"] == target_path)
    assert kernel["name"] == TAPPED
    connection = json.loads((tap_lab.runtime_dir / f"kernel-{target_id}.json").read_text())
    assert "jpf_tap" in connection, "the server's connection file names no tap"

    monitor_path = tap_lab.write_notebook("watcher.ipynb", monitor_cells(target_id))
    mon = open_notebook(front, tap_lab, monitor_path)
    assert tap_lab.wait_kernel_ready(monitor_path) != target_id

    # B: the Monitor, through the tap
    run_cell(mon, 0)
    view = monitor_view(mon)
    expect(view).to_have_attribute("data-status", "connected")
    expect(view).to_have_attribute("data-capture", "tap")
    badge = view.locator("[data-role=capture-badge]")
    expect(badge).to_have_text("full capture")
    # the reply to the monitor's own kernel_info probe came through the capture stream (the
    # one on its shell socket is dropped), so the stream flows; own replies are not listed as
    # rows by default, but are counted in the type chips
    expect(view.locator("[data-role=filter-type][data-msg-type=kernel_info_reply]")).to_be_attached(
        timeout=WAIT * 1000
    )

    # A: the slider, moved in the browser with the keyboard
    run_cell(target, SLIDER)
    slider = target.locator(".jp-Notebook .jp-Cell").nth(SLIDER).locator(".widget-slider")
    expect(slider).to_be_visible()
    readout = slider.locator(".widget-readout")
    expect(readout).to_have_text(str(START))
    handle = slider.locator(".noUi-handle")
    handle.focus()
    expect(handle).to_be_focused()
    for _ in range(MOVES):
        handle.press("ArrowRight")
    expect(readout).to_have_text(str(MOVED))
    run_cell(target, READ_BACK)  # the kernel got it
    expect(cell_output(target, READ_BACK)).to_contain_text(f"slider at {MOVED}")
    shoot(target, screenshots, "tap-jupyterlab-1-target")

    # B's Python API: the browser's requests and the kernel's replies, through the tap
    run_cell(mon, 1, timeout=(WAIT + 20) * 1000)
    summary = summary_of(mon, 1)
    assert summary["capture"] == "tap"
    assert summary["lost"] == 0

    executes = summary["executes"]
    assert sorted(e["cell"] for e in executes) == [SLIDER, READ_BACK], executes
    browser = executes[0]["request"]["client"]
    assert browser, executes
    for e in executes:
        assert e["request"] == {"channel": "shell", "direction": "to_kernel", "client": browser}
        assert e["reply"] == {
            "channel": "shell",
            "direction": "from_kernel",
            "client": browser,
            "status": "ok",
        }, e

    updates = summary["updates"]
    values = [u["value"] for u in updates]
    assert values, updates
    assert values[-1] == MOVED, updates
    assert set(values) <= set(range(START + 1, MOVED + 1)), updates
    for u in updates:
        # the browser's own comm traffic: on shell, to the kernel, from the same client as its
        # execute requests (one websocket, one identity on every channel)
        assert (u["channel"], u["direction"], u["client"]) == ("shell", "to_kernel", browser)
        assert u["model"] == "IntSliderModel", u

    # B's view: requests and replies as rows with a direction mark and the client's pill
    mon.bring_to_front()
    to_kernel = view.locator("[data-role=row][data-direction=to_kernel]")
    expect(to_kernel.first).to_be_attached()
    expect(view.locator("[data-role=row][data-direction=from_kernel]").first).to_be_attached()
    view.locator("[data-role=filter-direction][data-direction=to_kernel]").click()
    view.locator("[data-role=filter-type][data-msg-type=comm_msg]").click()
    update_row = view.locator(
        "[data-role=row][data-msg-type=comm_msg][data-channel=shell][data-direction=to_kernel]"
    ).last
    expect(update_row).to_be_visible()
    expect(update_row).to_have_attribute("data-client", browser)
    expect(update_row.locator(".jpf-dir")).to_have_attribute("data-direction", "to_kernel")
    expect(update_row.locator(".jpf-client")).to_have_attribute("data-client", browser)
    expect(view.locator("[data-role=row][data-direction=from_kernel]")).to_have_count(0)
    shoot(mon, screenshots, "tap-jupyterlab-2-monitor")

    # readable in every theme: the client pills and direction marks, and in threaded mode the
    # request heads with their reply's status
    to_kernel_chip = view.locator("[data-role=filter-direction][data-direction=to_kernel]")

    def set_to_kernel(pressed: bool) -> None:
        if (to_kernel_chip.get_attribute("aria-pressed") == "true") != pressed:
            to_kernel_chip.click()
        expect(to_kernel_chip).to_have_attribute("aria-pressed", str(pressed).lower())

    def pills() -> None:
        view.locator("[data-role=mode][data-mode=rendered]").click()
        only(mon, "comm_msg")
        set_to_kernel(True)
        expect(update_row.locator(".jpf-client")).to_be_visible()

    def threads() -> None:
        only(mon)
        set_to_kernel(False)
        view.locator("[data-role=mode][data-mode=threaded]").click()
        expect(view.locator("[data-role=reply-status]").first).to_be_visible()

    bad = audit_in_themes(
        tap_lab, mon, monitor_path, screenshots, {"pills": pills, "threads": threads}
    )
    assert not bad, json.dumps(bad, indent=1)

    front.check_console()
    print(f"tapped JupyterLab scenario took {time.monotonic() - started:.1f} s")
