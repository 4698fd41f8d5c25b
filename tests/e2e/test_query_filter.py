"""The filter box takes field queries: a path into the message (``content.data.method:update``)
is decided by Python for the rows the view holds and for those that come later, so no row is
listed that does not match and none that matches is left out; a malformed query is shown next to
the box and the list keeps the last good one (JupyterLab in Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Front, Server, cell_output, open_notebook, run_cell, shoot

pytestmark = pytest.mark.e2e

# Comm messages whose data differ only inside content.data; the "custom" ones mention "update"
# in their text, so free text could not tell them apart.
SEND = """
from comm import create_comm
c = globals().get("c") or create_comm(target_name="jpf.query")
for i in range({n}):
    c.send({{"method": "update", "i": {start} + i}})
    c.send({{"method": "custom", "note": "not an update", "i": {start} + i}})
"""


def comm_rows(page: Page):
    return page.locator(".jpf-monitor [data-role=list] [data-role=row][data-msg-type=comm_msg]")


def test_a_path_query_lists_exactly_the_matching_rows(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook(
        "query-target.ipynb", [SEND.format(n=4, start=0), SEND.format(n=2, start=100)]
    )
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "query-monitor.ipynb",
        [
            f'from jpf_widget import Monitor\nm = Monitor("{target_id}", density="compact")\nm',
            'print("held", len(m.query("content.data.method:update")))',
        ],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    expect(mon.locator(".jpf-monitor")).to_have_attribute("data-status", "connected")
    run_cell(target, 0)
    mon.bring_to_front()
    expect(comm_rows(mon)).to_have_count(8)  # 4 updates, 4 others

    box = mon.locator(".jpf-monitor [data-role=filter-text]")
    box.fill("content.data.method:update")
    expect(comm_rows(mon)).to_have_count(4)
    for text in comm_rows(mon).all_inner_texts():
        assert '"method":"update"' in text, text
    # Free text finds the other ones too: the path query is not a text search.
    box.fill("update")
    expect(comm_rows(mon)).to_have_count(8)
    box.fill("content.data.method:update")
    expect(comm_rows(mon)).to_have_count(4)

    # Rows that come while the query is in force: asked about, listed when they match.
    target.bring_to_front()
    run_cell(target, 1)
    mon.bring_to_front()
    expect(comm_rows(mon)).to_have_count(6)
    texts = comm_rows(mon).all_inner_texts()
    assert all('"method":"update"' in t for t in texts), texts
    assert sum('"i":10' in t for t in texts) == 2  # the two new ones, i = 100 and 101
    markers = mon.locator(".jpf-monitor [data-role=list] [data-role=row][data-channel=monitor]")
    # every row listed is on screen (compact rows): the count of rows listed is those, no more
    expect(mon.locator(".jpf-monitor [data-counter=shown] .jpf-cvalue")).to_have_text(
        str(6 + markers.count())
    )
    shoot(mon, screenshots, "query-1-path-filter")

    # The same query in Python agrees.
    run_cell(mon, 1)
    expect(cell_output(mon, 1)).to_contain_text("held 6")

    # A malformed query: the reason next to the box, the list unchanged.
    box.fill("content.data.method:update -")
    error = mon.locator(".jpf-monitor [data-role=filter-error]")
    expect(error).to_have_text("column 28: - must be followed by a term, as in -msg_type:status")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(comm_rows(mon)).to_have_count(6)
    shoot(mon, screenshots, "query-2-malformed")
    box.fill("content.data.method:custom content.data.i:101")
    expect(error).to_have_text("")
    expect(comm_rows(mon)).to_have_count(1)
    expect(comm_rows(mon)).to_contain_text('"i":101')
