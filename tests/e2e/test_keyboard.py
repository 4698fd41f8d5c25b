"""Keyboard and screen readers: j/k and the arrow keys move between rows, Enter opens, c copies;
roles and labels; and a stick-to-bottom that leaves a scrolled-up list alone while counting the
new rows on "jump to latest" (JupyterLab in Chromium)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Front, Server, open_notebook, run_cell, shoot, wait_until

pytestmark = pytest.mark.e2e

TARGET = 'for i in range(60):\n    print("line", i, flush=True)'
LIST_TOP = "() => document.querySelector('.jpf-monitor [data-role=list]').scrollTop"


def test_keyboard_roles_and_new_rows_while_scrolled_up(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    target_path = lab_server.write_notebook("keys-target.ipynb", [TARGET])
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)
    monitor_path = lab_server.write_notebook(
        "keys-monitor.ipynb",
        [f'from jpf_widget import Monitor\nm = Monitor("{target_id}", density="compact")\nm'],
    )
    mon = open_notebook(front, lab_server, monitor_path)
    front.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    lab_server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    view = mon.locator(".jpf-monitor")
    expect(view).to_have_attribute("data-status", "connected")
    run_cell(target, 0)
    mon.bring_to_front()
    last = mon.locator(".jpf-monitor [data-role=row][data-msg-type=stream]").filter(
        has_text="line 59"
    )
    expect(last).to_be_visible()
    listbox = view.locator("[data-role=list]")
    expect(listbox).to_have_attribute("role", "list")
    expect(listbox).to_have_attribute(
        "aria-label", "messages (arrow keys or j/k move, Enter opens, c copies)"
    )

    # keys: from the bottom of the screen up, then down; Enter opens, c copies
    view.locator("[data-role=status]").click()
    mon.keyboard.press("k")
    focused = view.locator(".jpf-focused")
    expect(focused).to_have_count(1)
    expect(focused).to_be_focused()
    first_seq = int(focused.get_attribute("data-seq") or 0)
    mon.keyboard.press("k")
    mon.keyboard.press("ArrowUp")
    expect(focused).to_have_attribute("data-seq", str(first_seq - 2))
    mon.keyboard.press("j")
    expect(focused).to_have_attribute("data-seq", str(first_seq - 1))
    expect(focused).to_have_attribute("role", "listitem")
    expect(focused).to_have_attribute("aria-label", re.compile(r"^stream on iopub"))
    mon.keyboard.press("Enter")
    expect(focused).to_have_attribute("aria-expanded", "true")
    expect(focused.locator("[data-role=rendered-output]")).to_contain_text("line")
    mon.keyboard.press("c")
    expect(focused).to_have_attribute("data-copied", "true")
    copied = json.loads(mon.evaluate("() => navigator.clipboard.readText()"))
    assert copied["header"]["msg_type"] == "stream"  # the body, fetched when the row opened
    shoot(mon, screenshots, "keyboard-1-focused")

    # scrolled up, new rows do not move the list; "jump to latest" counts them
    mon.evaluate("() => { document.querySelector('.jpf-monitor [data-role=list]').scrollTop = 0; }")
    jump = view.locator("[data-role=jump-latest]")
    expect(jump).to_be_visible()
    run_cell(target, 0)
    mon.bring_to_front()
    wait_until(lambda: int(jump.get_attribute("data-new") or 0) >= 60, 20, "new rows counted")
    expect(jump).to_contain_text("new")
    assert mon.evaluate(LIST_TOP) < 200  # still where the user left it
    shoot(mon, screenshots, "keyboard-2-new-rows")
    jump.click()
    expect(jump).to_be_hidden()
    expect(jump).to_have_attribute("data-new", "0")
    front.check_console()
