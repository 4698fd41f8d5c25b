"""The kernel picker in a real JupyterLab 4, in Chromium: ``Monitor()`` with no target lists the
server's kernels with their notebooks; a click attaches."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import Front, Server, open_notebook, run_cell, shoot

pytestmark = pytest.mark.e2e


def widget(page: Page) -> Locator:
    return page.locator(".jpf-monitor")


def picker_row(page: Page, kernel_id: str) -> Locator:
    return page.locator(f".jpf-monitor [data-role=picker-row][data-kernel-id='{kernel_id}']")


def test_picker_lists_kernels_and_attaches(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    started = time.monotonic()
    target_path = lab_server.write_notebook(
        "picker-target.ipynb", ['print("hello from the picked kernel")']
    )
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    other_path = lab_server.write_notebook("picker-other.ipynb", ["x = 1"])
    open_notebook(front, lab_server, other_path)
    other_id = lab_server.wait_kernel_ready(other_path)

    monitor_path = lab_server.write_notebook(
        "picker-monitor.ipynb", ["from jpf_widget import Monitor\nm = Monitor()\nm"]
    )
    mon = open_notebook(front, lab_server, monitor_path)
    monitor_id = lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)

    view = widget(mon)
    picker = mon.locator(".jpf-monitor [data-role=picker]")
    expect(picker).to_be_visible()
    expect(view).to_have_attribute("data-picker", "open")
    expect(mon.locator(".jpf-monitor [data-role=picker-error]")).to_have_count(0)
    row = picker_row(mon, target_id)
    expect(row).to_be_visible()
    expect(row).to_contain_text("picker-target.ipynb")
    expect(row).to_contain_text("python3")
    expect(row).to_contain_text(re.compile(r"idle|busy"))
    expect(row).to_contain_text(re.compile(r"\d+ connections?"))
    expect(row).to_contain_text(re.compile(r"ago|just now"))
    expect(row).to_contain_text(lab_server.url)
    expect(row).to_contain_text(target_id[:8])
    expect(picker_row(mon, other_id)).to_contain_text("picker-other.ipynb")
    expect(picker_row(mon, monitor_id)).to_contain_text("picker-monitor.ipynb")
    own = "[data-field=own]"
    expect(picker_row(mon, monitor_id).locator(own)).to_have_text("this monitor's kernel")
    expect(picker_row(mon, target_id).locator(own)).to_have_count(0)
    # nothing attached yet: no "waiting for messages" under the picker
    expect(mon.locator(".jpf-monitor .jpf-empty")).to_be_hidden()
    shoot(mon, screenshots, "picker-1-listed")

    # refresh: a kernel started after the first listing shows up (no notebook)
    new_id = str(lab_server.api("POST", "/api/kernels", {"name": "python3"})["id"])
    lab_server.remember_kernels()
    expect(picker_row(mon, new_id)).to_have_count(0)
    refresh = mon.locator(".jpf-monitor [data-role=picker-refresh]")
    refresh.click()
    expect(picker_row(mon, new_id)).to_contain_text("(no notebook)", timeout=20_000)
    expect(refresh).to_have_text("refresh")
    lab_server.api("DELETE", f"/api/kernels/{new_id}")

    # attach by clicking the target's row
    picker_row(mon, target_id).click()
    expect(picker).to_have_count(0)
    expect(view).to_have_attribute("data-picker", "closed")
    expect(view).to_have_attribute("data-status", "connected", timeout=20_000)
    expect(mon.locator(".jpf-monitor [data-role=kernel-id]")).to_have_attribute("title", target_id)
    expect(mon.locator(".jpf-monitor [data-role=kernel-info]")).to_contain_text("python")
    run_cell(target, 0)
    mon.bring_to_front()
    stream = mon.locator(".jpf-monitor [data-role=row][data-msg-type=stream]")
    expect(stream.filter(has_text="hello from the picked kernel")).to_be_visible()
    expect(mon.locator(".jpf-monitor [data-role=row][data-msg-type=execute_input]")).to_have_count(
        1
    )
    shoot(mon, screenshots, "picker-2-attached")

    # "switch kernel" opens the picker again (the attached kernel marked); cancel closes it
    mon.locator(".jpf-monitor [data-role=switch-kernel]").click()
    expect(picker_row(mon, target_id)).to_have_attribute("aria-current", "true")
    mon.locator(".jpf-monitor [data-role=picker-close]").click()
    expect(picker).to_have_count(0)
    expect(stream.filter(has_text="hello from the picked kernel")).to_be_visible()

    # switch to the other notebook's kernel: the window starts over with a `switched` marker
    mon.locator(".jpf-monitor [data-role=switch-kernel]").click()
    picker_row(mon, other_id).click()
    expect(mon.locator(".jpf-monitor [data-role=kernel-id]")).to_have_attribute("title", other_id)
    expect(view).to_have_attribute("data-status", "connected", timeout=20_000)
    expect(mon.locator(".jpf-monitor [data-role=row][data-msg-type=switched]")).to_have_count(1)
    expect(stream.filter(has_text="hello from the picked kernel")).to_have_count(0)
    shoot(mon, screenshots, "picker-3-switched")

    front.check_console()
    print(f"picker scenario took {time.monotonic() - started:.1f} s")
