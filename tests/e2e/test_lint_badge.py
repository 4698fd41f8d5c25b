"""A message that breaks the messaging spec shows a badge on its row and, opened, the rules it
breaks with their reasons, readable in JupyterLab's three themes (JupyterLab in Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Front, Server, open_notebook, run_cell, shoot
from .test_contrast import audit_in_themes

pytestmark = pytest.mark.e2e

# ipykernel's own session sends a stream named "stdlog": the spec's streams are stdout, stderr
TARGET_CELLS = [
    'print("clean line", flush=True)',
    "k = get_ipython().kernel\n"
    'k.session.send(k.iopub_socket, "stream", {"name": "stdlog", "text": "lint me"}, '
    "parent=k.get_parent())",
]


def test_a_row_breaking_the_spec_has_a_badge_and_its_reasons(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("lint-target.ipynb", TARGET_CELLS)
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "lint-monitor.ipynb", [f'from jpf_widget import Monitor\nm = Monitor("{target_id}")\nm']
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    view = mon.locator(".jpf-monitor")
    expect(view).to_have_attribute("data-status", "connected")
    for index in range(len(TARGET_CELLS)):
        run_cell(target, index)
    mon.bring_to_front()

    streams = mon.locator(".jpf-monitor [data-role=row][data-msg-type=stream]")
    bad = streams.filter(has_text="lint me").first
    clean = streams.filter(has_text="clean line").first
    expect(bad.locator("[data-role=problems]")).to_have_text("⚠ 1")
    expect(clean).to_be_visible()
    assert clean.locator("[data-role=problems]").count() == 0
    bad.locator(".jpf-line").click()
    reason = bad.locator("[data-role=problem-list] li[data-rule='stream.name.enum']")
    expect(reason).to_contain_text("at content.name")
    expect(reason.locator("[data-role=problem-path]")).to_have_text("content.name")
    expect(reason.locator("[data-role=problem-value]")).to_have_text('"stdlog"')
    expect(reason.locator("a")).to_have_attribute(
        "href",
        "https://jupyter-client.readthedocs.io/en/latest/messaging.html#streams-stdout-stderr-etc",
    )
    shoot(mon, screenshots, "lint-badge")

    # "problems" lists only the messages with a badge, and survives as the only_problems trait
    only = mon.locator(".jpf-monitor [data-role=only-problems]")
    only.check()
    expect(clean).to_have_count(0)
    expect(streams.filter(has_text="lint me")).to_have_count(1)
    rows = mon.locator(".jpf-monitor [data-role=row]:not(.jpf-marker)")
    expect(rows.filter(has_not=mon.locator("[data-role=problems]"))).to_have_count(0)
    only.uncheck()
    expect(clean).to_be_visible()

    # the badge and the reasons are readable in the three themes
    def show_reasons() -> None:
        row = mon.locator(".jpf-monitor [data-role=row][data-msg-type=stream]").filter(
            has_text="lint me"
        )
        if row.first.locator("[data-role=problem-list]").count() == 0:
            row.first.locator(".jpf-line").click()
        expect(row.first.locator("[data-role=problem-list]")).to_be_visible()

    failures = audit_in_themes(lab_server, mon, monitor_path, screenshots, {"lint": show_reasons})
    # what this view adds; the rest of the monitor is audited by test_contrast.py
    ours = {
        theme: [f for f in found if f.startswith("problem")] for theme, found in failures.items()
    }
    assert {theme: found for theme, found in ours.items() if found} == {}
    front.check_console()
