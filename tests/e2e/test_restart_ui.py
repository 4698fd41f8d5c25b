"""A restart from JupyterLab's own menu is followed: restarting, a marker, connected again."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Front, Server, open_notebook, run_cell, shoot
from .test_jupyterlab import monitor_cells, rows, widget

pytestmark = pytest.mark.e2e


def test_restart_from_the_menu_is_followed(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook(
        "restarted.ipynb", ['print("before the restart")', 'print("after the restart")']
    )
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook("watch-restart.ipynb", monitor_cells(target_id))
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    expect(widget(mon)).to_have_attribute("data-status", "connected")

    target.bring_to_front()
    run_cell(target, 0)
    target.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    target.locator(".lm-Menu-itemLabel", has_text="Restart Kernel…").first.click()
    target.locator(".jp-Dialog .jp-mod-accept").click()
    lab_server.wait_kernel_ready(target_path)  # the server says it is back and idle
    run_cell(target, 1)

    mon.bring_to_front()
    expect(rows(mon, "restart").first).to_be_attached(timeout=30_000)
    expect(widget(mon)).to_have_attribute("data-status", "connected")
    expect(rows(mon, "stream").filter(has_text="before the restart")).to_be_attached()
    expect(rows(mon, "stream").filter(has_text="after the restart")).to_be_attached()
    shoot(mon, screenshots, "jupyterlab-8-after-ui-restart")
    front.check_console()
