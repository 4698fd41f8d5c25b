"""Modes you can see: in comfortable density (the default) each row shows its content inline (the
rendered display in rendered mode, the message's JSON in raw mode) without a click; compact
density is one line per message, from a toggle and the ``density`` trait (JupyterLab in
Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Front, Server, cell_output, open_notebook, run_cell, shoot

pytestmark = pytest.mark.e2e

TARGET_CELLS = [
    'from IPython.display import HTML, display\ndisplay(HTML("<b>inline html</b>"))',
    'print("raw json line", flush=True)',
]


def rows(page: Page, msg_type: str):
    return page.locator(f".jpf-monitor [data-role=row][data-msg-type={msg_type}]")


def test_rows_show_their_content_inline_by_mode_and_density(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("density-target.ipynb", TARGET_CELLS)
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "density-monitor.ipynb",
        [
            f'from jpf_widget import Monitor\nm = Monitor("{target_id}")\nm',
            "print(m.density)",
        ],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    view = mon.locator(".jpf-monitor")
    expect(view).to_have_attribute("data-status", "connected")
    expect(view).to_have_attribute("data-density", "comfortable")
    for index in range(len(TARGET_CELLS)):
        run_cell(target, index)
    mon.bring_to_front()

    # rendered mode: the display's HTML, rendered (and sanitized), in its row, no click
    display = rows(mon, "display_data").filter(has_text="text/html").first
    expect(display.locator("[data-role=preview] [data-role=rendered-output] b")).to_have_text(
        "inline html"
    )
    expect(display.locator("[data-role=preview] b")).to_be_visible()
    assert display.locator(".jpf-detail").count() == 0  # not opened
    shoot(mon, screenshots, "density-1-rendered-inline")

    # raw mode: the message's JSON in its row, no click
    mon.locator(".jpf-monitor [data-role=mode][data-mode=raw]").click()
    expect(view).to_have_attribute("data-view", "raw")
    stream = rows(mon, "stream").filter(has_text="raw json line").first
    raw = stream.locator("[data-role=preview] [data-role=raw-json]")
    expect(raw).to_be_visible()
    expect(raw).to_contain_text('"msg_type"')
    expect(raw).to_contain_text("raw json line")
    assert stream.locator(".jpf-detail").count() == 0
    shoot(mon, screenshots, "density-2-raw-inline")

    # compact: one line per message, and the trait says so
    toggle = mon.locator(".jpf-monitor [data-role=density]")
    toggle.click()
    expect(view).to_have_attribute("data-density", "compact")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(mon.locator(".jpf-monitor [data-role=preview]")).to_have_count(0)
    expect(stream).to_be_visible()
    run_cell(mon, 1)
    expect(cell_output(mon, 1)).to_contain_text("compact")
    shoot(mon, screenshots, "density-3-compact")
    front.check_console()
