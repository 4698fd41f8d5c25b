"""A Monitor whose cell is deleted closes itself: its threads and sockets are freed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Front, Server, cell_output, open_notebook, run_cell, shoot
from .test_jupyterlab import widget

pytestmark = pytest.mark.e2e

REPORT = """
import os, threading, time
deadline = time.monotonic() + 30
while m.status != "closed" and time.monotonic() < deadline:
    time.sleep(0.05)
threads = sorted(t.name for t in threading.enumerate() if t.name.startswith("jpf"))
print("status:", m.status, "| fds before:", fds_before, "after:", len(os.listdir("/proc/self/fd")))
print("threads:", threads, "| detail:", m.status_detail)
"""


def test_deleting_the_cell_closes_the_monitor(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("quiet.ipynb", ['print("hello")'])
    open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "deleted.ipynb",
        [
            "import os\nfrom jpf_widget import Monitor\n"
            f'Monitor("{target_id}").close()  # a warm-up: first-use imports open files\n'
            "fds_before = len(os.listdir('/proc/self/fd'))\n"
            f'm = Monitor("{target_id}", close_after_hidden=1)\nm',
            REPORT,
        ],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    expect(widget(mon)).to_have_attribute("data-status", "connected")

    # delete the monitor's cell the way a person does: select it, then "d d"
    mon.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    mon.keyboard.press("Escape")
    mon.keyboard.press("d")
    mon.keyboard.press("d")
    expect(widget(mon)).to_have_count(0)
    expect(mon.locator(".jp-Notebook .jp-Cell")).to_have_count(1)

    run_cell(mon, 0)
    output = cell_output(mon, 0)
    expect(output).to_contain_text("threads: []", timeout=40_000)
    text = output.inner_text()
    assert "status: closed" in text
    assert "closed itself: no view showed it for 1 s" in text
    match = re.search(r"fds before: (\d+) after: (\d+)", text)
    assert match, text
    # a live monitor holds a ZMQ context and five sockets (10+ descriptors); the first widget
    # shown in a kernel may open one or two of the notebook's own
    assert int(match[2]) - int(match[1]) < 5, text
    shoot(mon, screenshots, "jupyterlab-9-deleted-cell-closed")
    front.check_console()
