"""A Monitor whose cell is deleted closes itself: its threads and sockets are freed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Front, Server, cell_output, open_notebook, run_cell, shoot
from .test_jupyterlab import widget

pytestmark = pytest.mark.e2e

OPEN_FDS = """
import os
def open_fds():
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, gone by now
            pass
    return found
"""

REPORT = """
import os, threading, time
def jpf_threads():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("jpf"))
# "closed" is set before the flusher thread that closed the monitor has returned
deadline = time.monotonic() + 30
while (m.status != "closed" or jpf_threads()) and time.monotonic() < deadline:
    time.sleep(0.05)
threads = jpf_threads()
new = sorted(target for fd, target in open_fds().items() if fds_before.get(fd) != target)
print("status:", m.status, "| threads:", threads)
print("new fds:", new)
def inodes(path):
    column = -1 if path.endswith("unix") else 9
    return {line.split()[column] for line in open(path).readlines()[1:]}
tcp = inodes("/proc/self/net/tcp") | inodes("/proc/self/net/tcp6")
unix = inodes("/proc/self/net/unix")
sockets = [t[len("socket:["):-1] for t in new if t.startswith("socket:")]
print("new sockets:", ["tcp" if s in tcp else "unix" if s in unix else "?" for s in sockets])
print("detail:", m.status_detail)
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
            OPEN_FDS + "from jpf_widget import Monitor\n"
            f'Monitor("{target_id}").close()  # a warm-up: first-use imports open files\n'
            "fds_before = open_fds()\n"
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
    assert "status: closed | threads: []" in text, text
    assert "closed itself: no view showed it for 1 s" in text
    # a capture left open would keep its TCP connections to the target's ports; the kernel
    # itself may have opened other descriptors meanwhile (ipykernel keeps a ZMQ pipe per
    # thread that published, an event loop's socketpair), which are not the monitor's
    sockets = re.search(r"new sockets: (.*)", text)
    assert sockets, text
    assert "tcp" not in sockets[1], text
    shoot(mon, screenshots, "jupyterlab-9-deleted-cell-closed")
    front.check_console()
