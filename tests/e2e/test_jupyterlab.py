"""Monitor in a real JupyterLab 4, in Chromium: one notebook's kernel watched from another."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import (
    Front,
    Server,
    cell_output,
    open_notebook,
    run_cell,
    shoot,
    tiny_png,
    wait_notebook_ready,
    wait_until,
)

pytestmark = pytest.mark.e2e

PNG = tiny_png()
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

TARGET_CELLS = [
    'print("hello from the target")',
    "from IPython.display import display\n"
    f"display({{'text/html': '<b>bold html</b>', 'image/png': '{PNG}',\n"
    "         'text/plain': 'a tiny png, as text'}, raw=True)",
    "1/0",
    "import ipywidgets as widgets\nslider = widgets.IntSlider(value=3)\nslider",
    "slider.value = 7",
    'from IPython.display import clear_output\nprint("soon cleared", flush=True)\nclear_output()',
]
PRINT, DISPLAY, ERROR, SLIDER, SLIDER_SET, CLEAR = range(6)


def monitor_cells(target: str) -> list[str]:
    return [
        f'from jpf_widget import Monitor\nm = Monitor("{target}")\nm',
        "print('captured', m.stats['captured'])",
    ]


def widget(page: Page) -> Locator:
    return page.locator(".jpf-monitor")


def rows(page: Page, msg_type: str = "") -> Locator:
    sel = "[data-role=row]" + (f"[data-msg-type={msg_type}]" if msg_type else "")
    return page.locator(f".jpf-monitor {sel}")


def only(page: Page, *msg_types: str) -> None:
    """Show only these msg_types (the type chips; none: all). Rows showing their content inline
    are tall, so a test brings the rows it looks at onto the screen this way."""

    def chip(msg_type: str) -> Locator:
        return page.locator(f".jpf-monitor [data-role=filter-type][data-msg-type={msg_type}]")

    pressed = page.locator(".jpf-monitor [data-role=filter-type][aria-pressed=true]")
    for msg_type in pressed.evaluate_all("bs => bs.map(b => b.dataset.msgType)"):
        if msg_type not in msg_types:
            chip(msg_type).click()
            expect(chip(msg_type)).to_have_attribute("aria-pressed", "false")
    for msg_type in msg_types:
        if chip(msg_type).get_attribute("aria-pressed") != "true":
            chip(msg_type).click()
        expect(chip(msg_type)).to_have_attribute("aria-pressed", "true")


def shown(page: Page) -> int:
    """The "shown" counter: rows listed, on screen or not."""
    counter = page.locator(".jpf-monitor [data-role=counter][data-counter=shown] .jpf-cvalue")
    return int(counter.inner_text())


def choose_mode(page: Page, mode: str) -> None:
    button = page.locator(f".jpf-monitor [data-role=mode][data-mode={mode}]")
    button.click()
    expect(widget(page)).to_have_attribute("data-view", mode)
    expect(button).to_have_attribute("aria-pressed", "true")


def test_monitor_in_jupyterlab(lab_server: Server, front: Front, screenshots: Path) -> None:
    started = time.monotonic()
    target_path = lab_server.write_notebook("target.ipynb", TARGET_CELLS)
    target = open_notebook(front, lab_server, target_path)
    target_id = lab_server.wait_kernel_ready(target_path)

    monitor_path = lab_server.write_notebook("monitor.ipynb", monitor_cells(target_id))
    mon = open_notebook(front, lab_server, monitor_path)
    monitor_id = lab_server.wait_kernel_ready(monitor_path)
    assert monitor_id != target_id

    run_cell(mon, 0)
    view = widget(mon)
    expect(view).to_have_attribute("data-status", "connected")
    expect(mon.locator(".jpf-monitor [data-role=kernel-info]")).to_contain_text("python")
    expect(mon.locator(".jpf-monitor [data-role=kernel-id]")).to_have_attribute("title", target_id)

    for index in range(len(TARGET_CELLS)):
        run_cell(target, index)
    expect(cell_output(target, ERROR)).to_contain_text("ZeroDivisionError")
    expect(
        target.locator(".jp-Notebook .jp-Cell").nth(SLIDER).locator(".widget-slider")
    ).to_be_visible()
    shoot(target, screenshots, "jupyterlab-1-target")

    mon.bring_to_front()
    for msg_type in (
        "execute_input",
        "stream",
        "display_data",
        "error",
        "comm_open",
        "comm_msg",
        "clear_output",
    ):
        only(mon, msg_type)
        expect(rows(mon, msg_type).first).to_be_attached()
    only(mon, "stream")
    expect(rows(mon, "stream").filter(has_text="hello from the target")).to_be_visible()
    only(mon, "error")
    expect(rows(mon, "error")).to_contain_text("ZeroDivisionError")
    only(mon)

    # status messages: in their own lane, not in the list
    expect(
        mon.locator(".jpf-monitor [data-role=status-lane] [data-role=lane-segment]").first
    ).to_be_attached()
    assert rows(mon, "status").count() == 0
    show_status = mon.locator(".jpf-monitor [data-role=show-status]")
    show_status.check()
    expect(rows(mon, "status").first).to_be_attached()
    show_status.uncheck()
    expect(rows(mon, "status")).to_have_count(0)

    # rendered mode (comfortable density, the default): each row shows its content inline,
    # without a click; the png display renders as an image, its chooser switches it to text
    expect(view).to_have_attribute("data-density", "comfortable")
    only(mon, "display_data", "error")
    png_row = rows(mon, "display_data").filter(has_text="image/png").first
    preview = png_row.locator("[data-role=preview]")
    rendered = preview.locator("[data-role=rendered-output]")
    image = rendered.locator("img")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    expect(image).to_have_js_property("naturalWidth", 24)  # really decoded
    assert png_row.locator(".jpf-detail").count() == 0  # not opened
    expect(rows(mon, "error").locator("[data-role=preview]")).to_contain_text("ZeroDivisionError")
    shoot(mon, screenshots, "jupyterlab-2-rendered")
    select = preview.locator("select[data-role=mime-select]")
    select.select_option("text/plain")
    expect(rendered.locator("img")).to_have_count(0)
    expect(rendered).to_contain_text("a tiny png, as text")
    select.select_option("text/html")
    expect(rendered.locator("b")).to_have_text("bold html")
    # a click on the row's line opens its whole detail in place of the preview
    png_row.locator(".jpf-line").click()
    expect(png_row.locator(".jpf-detail [data-role=rendered-output] b")).to_have_text("bold html")
    expect(png_row.locator("[data-role=preview]")).to_have_count(0)
    png_row.locator(".jpf-line").click()
    expect(png_row.locator(".jpf-detail")).to_have_count(0)

    # raw mode: each row shows the message's JSON inline, without a click
    choose_mode(mon, "raw")
    only(mon, "stream")
    stream_row = rows(mon, "stream").filter(has_text="hello from the target").first
    raw = stream_row.locator("[data-role=preview] [data-role=raw-json]")
    expect(raw).to_be_visible()
    expect(raw).to_contain_text('"msg_type"')
    expect(raw).to_contain_text("hello from the target")
    assert stream_row.locator(".jpf-detail").count() == 0
    shoot(mon, screenshots, "jupyterlab-3-raw")

    # threaded mode: the target's execute requests rebuilt as parents, outputs nested (the
    # text filter keeps the one thread looked at on screen)
    only(mon)
    choose_mode(mon, "threaded")
    mon.locator(".jpf-monitor [data-role=filter-text]").fill("hello from the target")
    threads = mon.locator(".jpf-monitor [data-role=thread]")
    expect(threads.first).to_be_attached()
    placeholder = mon.locator("[data-role=placeholder]").filter(has_text="hello from the target")
    thread = threads.filter(has=placeholder)
    expect(thread).to_have_count(1)
    assert thread.get_attribute("data-parent-id")
    expect(thread.locator("[data-role=row][data-msg-type=stream]")).to_contain_text(
        "hello from the target"
    )
    expect(thread.locator("[data-role=row][data-msg-type=execute_input]")).to_have_count(1)
    shoot(mon, screenshots, "jupyterlab-4-threaded")
    mon.locator(".jpf-monitor [data-role=filter-text]").fill("")

    # the mode keys work while the widget has focus, and do not reach JupyterLab (where "1"/"2"
    # in command mode would turn the cell into a heading)
    view.locator("[data-role=status]").click()  # focus the widget, not a button or input
    for key, mode in (("w", "raw"), ("1", "rendered"), ("3", "threaded"), ("2", "raw")):
        mon.keyboard.press(key)
        expect(view).to_have_attribute("data-view", mode)
    expect(mon.locator(".jp-Notebook .jp-Cell").first).to_have_class(re.compile(r"jp-CodeCell"))
    expect(mon.locator(".jp-Notebook .jp-MarkdownCell")).to_have_count(0)

    # filters: a type chip, then text, narrow the list
    choose_mode(mon, "rendered")
    mon.locator(".jpf-monitor [data-role=filter-type][data-msg-type=error]").click()
    expect(rows(mon, "stream")).to_have_count(0)
    expect(rows(mon, "error")).to_have_count(1)
    mon.locator(".jpf-monitor [data-role=filter-type][data-msg-type=error]").click()
    expect(rows(mon, "stream").first).to_be_attached()
    mon.locator(".jpf-monitor [data-role=filter-text]").fill("hello from the target")
    expect(rows(mon, "error")).to_have_count(0)
    expect(rows(mon, "stream")).to_have_count(1)
    shoot(mon, screenshots, "jupyterlab-5-filtered")
    mon.locator(".jpf-monitor [data-role=filter-text]").fill("")
    expect(rows(mon, "clear_output")).to_have_count(1)

    # the Python side agrees
    run_cell(mon, 1)
    expect(cell_output(mon, 1)).to_contain_text("captured")
    shown_before = shown(mon)

    # a reload brings the view back from the live kernel, with its history
    mon.keyboard.press("Control+s")
    wait_saved(lab_server, monitor_path)
    mon.reload()
    wait_notebook_ready(mon, lab_server, monitor_path)
    expect(widget(mon)).to_have_attribute("data-status", "connected")
    expect(rows(mon, "clear_output")).to_have_count(1)
    wait_until(lambda: shown(mon) >= shown_before - 1, 10, "the rows listed before the reload")
    only(mon, "stream", "error")
    expect(rows(mon, "stream").filter(has_text="hello from the target")).to_be_visible()
    expect(rows(mon, "error")).to_have_count(1)
    shoot(mon, screenshots, "jupyterlab-6-after-reload")

    front.check_console()
    print(f"scenario 1 (JupyterLab) took {time.monotonic() - started:.1f} s")


def wait_saved(server: Server, path: str, timeout: float = 15) -> None:
    """Wait until the notebook on disk holds the monitor's widget output."""

    def saved() -> bool:
        with contextlib.suppress(json.JSONDecodeError):  # caught half-written
            nb = json.loads((server.root / path).read_text())
            outputs = nb["cells"][0].get("outputs", [])
            return any(WIDGET_VIEW in o.get("data", {}) for o in outputs)
        return False

    wait_until(saved, timeout, f"{path} saved with the widget's output")


def test_unknown_kernel_fails_clearly(lab_server: Server, front: Front, screenshots: Path) -> None:
    started = time.monotonic()
    path = lab_server.write_notebook(
        "failing.ipynb",
        [
            'from jpf_widget import Monitor\nbad = Monitor("no-such-kernel")\nbad',
            "print('still working', 6 * 7)",
        ],
    )
    page = open_notebook(front, lab_server, path)
    run_cell(page, 0)
    view = widget(page)
    expect(view).to_have_attribute("data-status", "failed")
    detail = page.locator(".jpf-monitor [data-role=status-detail]")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("no kernel matches")
    run_cell(page, 1)
    expect(cell_output(page, 1)).to_contain_text("still working 42")
    shoot(page, screenshots, "jupyterlab-7-unknown-kernel")
    front.check_console()
    print(f"scenario 3 (unknown kernel) took {time.monotonic() - started:.1f} s")


DEMO = Path(__file__).resolve().parents[2] / "notebooks" / "demo.ipynb"


def test_demo_notebook_in_jupyterlab(lab_server: Server, front: Front, screenshots: Path) -> None:
    """The demo, cell by cell through the UI: the widget follows the live kernel and the
    ``m.view = ...`` cells switch the rendered view's mode."""
    started = time.monotonic()
    shutil.copy(DEMO, lab_server.root / "demo.ipynb")
    cells = nbformat.read(DEMO, as_version=4).cells
    code = {c.source.split("\n", 1)[0]: i for i, c in enumerate(cells) if c.cell_type == "code"}

    def index(first_line: str) -> int:
        return next(i for line, i in code.items() if line.startswith(first_line))

    page = open_notebook(front, lab_server, "demo.ipynb")
    for i in sorted(code.values()):
        if i >= index('m.view = "raw"'):
            break
        run_cell(page, i, timeout=60_000)
    view = widget(page)
    expect(view).to_have_attribute("data-status", "connected")
    expect(rows(page, "stream").filter(has_text="tick").first).to_be_attached()
    # the ticks go on: the error row may have scrolled out of the drawn rows, so list errors only
    error_chip = page.locator(".jpf-monitor [data-role=filter-type][data-msg-type=error]")
    error_chip.click()
    expect(rows(page, "error")).to_contain_text("ZeroDivisionError")
    error_chip.click()
    expect(error_chip).to_have_attribute("aria-pressed", "false")

    for mode in ("raw", "threaded"):
        run_cell(page, index(f'm.view = "{mode}"'))
        expect(view).to_have_attribute("data-view", mode)
    expect(page.locator(".jpf-monitor [data-role=placeholder]").first).to_be_attached()
    shoot(page, screenshots, "demo-1-threaded")
    run_cell(page, index('m.view = "rendered"'))
    expect(view).to_have_attribute("data-view", "rendered")

    for i in sorted(code.values()):
        if i > index('m.view = "rendered"'):
            run_cell(page, i, timeout=60_000)
    last = max(code.values())
    expect(cell_output(page, last)).to_contain_text("second kernel alive: False")
    expect(view).to_have_attribute("data-status", "dead")
    # km.shutdown_kernel(now=True) kills the process, then removes the connection file: the
    # monitor names whichever it saw first (both say why the kernel is gone)
    expect(view.locator("[data-role=status-detail]")).to_contain_text(
        re.compile(r"process \d+ has exited|connection file .* was removed")
    )
    view.scroll_into_view_if_needed()
    expect(cell_output(page, index("stats = m.stats"))).to_contain_text("captured")
    shoot(page, screenshots, "demo-2-done")
    front.check_console()
    print(f"demo notebook in JupyterLab took {time.monotonic() - started:.1f} s")
