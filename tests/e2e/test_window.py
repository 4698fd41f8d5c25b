"""The view holds a window of the newest rows; scrolling up and filtering bring older ones from
Python (``older`` requests), in JupyterLab in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Front, Server, open_notebook, run_cell, shoot

pytestmark = pytest.mark.e2e

WINDOW = 100
SENT = 400
FLOOD = f"""
from comm import create_comm
c = create_comm(target_name="jpf.window")
for i in range({SENT}):
    c.send({{"i": i}})
c.close()
"""

# Scroll the list to its top and say whether a comm_msg row with this text is drawn; polled, so
# each poll scrolls up again after the rows asked for have been prepended.
SCROLL_UP_UNTIL = """(text) => {
  const list = document.querySelector(".jpf-monitor [data-role=list]");
  if (!list) return false;
  list.scrollTop = 0;
  return [...list.querySelectorAll("[data-role=row][data-msg-type=comm_msg]")].some((r) =>
    r.textContent.includes(text),
  );
}"""

SEQS = """() => [...document.querySelectorAll(".jpf-monitor [data-role=list] [data-role=row]")]
  .map((r) => Number(r.dataset.seq))"""


def comm_rows(page: Page, text: str):
    return page.locator(".jpf-monitor [data-role=row][data-msg-type=comm_msg]").filter(
        has_text=text
    )


def test_scrolling_up_and_filters_reach_rows_older_than_the_window(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("window-target.ipynb", [FLOOD])
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "window-monitor.ipynb",
        [f'from jpf_widget import Monitor\nm = Monitor("{target_id}", window_rows={WINDOW})\nm'],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    expect(mon.locator(".jpf-monitor")).to_have_attribute("data-status", "connected")

    run_cell(target, 0)
    mon.bring_to_front()
    expect(comm_rows(mon, f'{{"i":{SENT - 1}}}')).to_be_visible()
    assert comm_rows(mon, '{"i":0}').count() == 0  # outside the window of the newest 100

    # Scrolled to the top, the list asks for older rows a page at a time, down to the first.
    mon.wait_for_function(SCROLL_UP_UNTIL, arg='{"i":0}', polling=200, timeout=30_000)
    seqs = mon.evaluate(SEQS)
    assert seqs == sorted(seqs)
    assert len(seqs) < 100  # still only the rows on screen are elements
    shoot(mon, screenshots, "window-1-scrolled-to-the-start")

    # A filter starts from the window again, and finds its older matches in Python.
    text = mon.locator(".jpf-monitor [data-role=filter-text]")
    text.fill(r'"\"i\":5}"')  # quoted: free text with quotes and a colon in it
    expect(comm_rows(mon, '{"i":5}')).to_have_count(1)
    expect(mon.locator(".jpf-monitor [data-role=row][data-msg-type=comm_msg]")).to_have_count(1)
    text.fill("")
    expect(comm_rows(mon, f'{{"i":{SENT - 1}}}')).to_be_visible()
