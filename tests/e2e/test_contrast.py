"""Readable in JupyterLab's light and dark themes: every visible text in the monitor has a
contrast of at least 4.5:1 against its background (3:1 for large text), computed in the browser
from computed styles (JupyterLab in Chromium)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Front, Server, open_notebook, run_cell, shoot, wait_notebook_ready
from .test_jupyterlab import wait_saved

pytestmark = pytest.mark.e2e

AUDIT = (Path(__file__).parent / "contrast_audit.js").read_text()
THEMES = "/lab/api/settings/@jupyterlab/apputils-extension:themes"
TARGET_CELLS = [
    'print("hello", flush=True)',
    "1/0",
    'from IPython.display import HTML, display\ndisplay(HTML("<b>bold</b>"))',
    'import sys\nprint("to stderr", file=sys.stderr, flush=True)',
]


def set_theme(server: Server, theme: str) -> None:
    server.api("PUT", THEMES, {"raw": json.dumps({"theme": theme})})


def audit(page: Page, theme: str, screenshots: Path) -> list[dict[str, object]]:
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
    shoot(page, screenshots, f"contrast-{theme.replace(' ', '-').lower()}")
    return page.evaluate(AUDIT)


def test_every_text_is_readable_in_light_and_dark(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("contrast-target.ipynb", TARGET_CELLS)
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "contrast-monitor.ipynb",
        [f'from jpf_widget import Monitor\nm = Monitor("{target_id}")\nm'],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    expect(mon.locator(".jpf-monitor")).to_have_attribute("data-status", "connected")
    for index in range(len(TARGET_CELLS)):
        run_cell(target, index)
    mon.bring_to_front()
    expect(mon.locator(".jpf-monitor [data-role=row][data-msg-type=error]")).to_be_attached()
    mon.locator(".jpf-monitor [data-role=row][data-msg-type=error] .jpf-line").click()
    failures = {"JupyterLab Light": audit(mon, "JupyterLab Light", screenshots)}
    try:
        set_theme(lab_server, "JupyterLab Dark")
        mon.keyboard.press("Control+s")  # the widget's state, so the reload shows it again
        wait_saved(lab_server, monitor_path)
        mon.reload()
        wait_notebook_ready(mon, lab_server, monitor_path)
        expect(mon.locator(".jpf-monitor")).to_have_attribute("data-status", "connected")
        expect(mon.locator(".jpf-monitor [data-role=row][data-msg-type=error]")).to_be_attached()
        mon.locator(".jpf-monitor [data-role=row][data-msg-type=error] .jpf-line").click()
        failures["JupyterLab Dark"] = audit(mon, "JupyterLab Dark", screenshots)
    finally:
        set_theme(lab_server, "JupyterLab Light")
    bad = {
        theme: sorted(
            {
                f"{f['role']}/{f['cls']}: {f['ratio']} ({f['fg']} on {f['bg']}) {f['text']!r}"
                for f in found
            }
        )
        for theme, found in failures.items()
        if found
    }
    assert not bad, json.dumps(bad, indent=1)
