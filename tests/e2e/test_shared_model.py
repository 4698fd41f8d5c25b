"""One Monitor shown in two cells: both views list the same rows from one state in the page,
which decodes each batch from Python once (JupyterLab in Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Front, Server, open_notebook, run_cell, shoot, wait_until

pytestmark = pytest.mark.e2e

LINES = 40
TARGET = f'for i in range({LINES}):\n    print("line", i, flush=True)'

# The seqs of the stream rows each view draws, in order (one list per view).
SEQS = """() => [...document.querySelectorAll(".jpf-monitor")].map((v) =>
  [...v.querySelectorAll("[data-role=row][data-msg-type=stream]")].map((r) => r.dataset.seq))"""


def decoded(page: Page) -> dict[str, int]:
    return page.evaluate("() => ({...(window.__jpfDecoded ?? {})})")


def test_one_monitor_in_two_cells_shares_its_rows_and_decodes_once(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("shared-target.ipynb", [TARGET])
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "shared-monitor.ipynb",
        [f'from jpf_widget import Monitor\nm = Monitor("{target_id}")\nm', "m"],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    run_cell(mon, 1)
    views = mon.locator(".jpf-monitor")
    expect(views).to_have_count(2)
    for i in range(2):
        expect(views.nth(i)).to_have_attribute("data-status", "connected")
    before = decoded(mon)

    run_cell(target, 0)
    mon.bring_to_front()
    # only the stream rows, so both lists fit on screen; the filter is the model's: one click
    # filters both views
    views.nth(0).locator("[data-role=filter-type][data-msg-type=stream]").click()
    for i in range(2):
        chip = views.nth(i).locator("[data-role=filter-type][data-msg-type=stream]")
        expect(chip).to_have_attribute("aria-pressed", "true")
        expect(
            views.nth(i)
            .locator("[data-role=row][data-msg-type=stream]")
            .filter(has_text=f"line {LINES - 1}")
        ).to_be_visible()
    seqs = wait_until(
        lambda: (s := mon.evaluate(SEQS)) and len(s) == 2 and s[0] and s[0] == s[1] and s,
        10,
        "both views draw the same stream rows",
    )
    assert len(seqs[0]) >= 5
    shown = [views.nth(i).locator("[data-counter=shown] .jpf-cvalue") for i in range(2)]
    expect(shown[1]).to_have_text(shown[0].inner_text())
    assert int(shown[0].inner_text()) >= LINES
    shoot(mon, screenshots, "shared-model-two-views")

    # Each live batch was decoded once in the page, not once per view: the rows decoded from
    # live batches since the target ran are no more than the messages the monitor captured.
    after = decoded(mon)
    live = after["liveRows"] - before.get("liveRows", 0)
    captured = int(views.nth(0).locator("[data-counter=captured] .jpf-cvalue").inner_text())
    assert live >= LINES, (before, after)
    assert live <= captured, (live, captured, before, after)
    front.check_console()
