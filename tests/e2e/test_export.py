"""Export and "copy as diagram" in the view, in JupyterLab in Chromium.

Export: with a type chip and filter text set, the "export" button downloads a trace file named
``<kernel id prefix>-<UTC time>.jsonl``; ``Monitor.load`` of the download holds exactly the
messages the list showed. Diagram: "diagram" on a thread head copies the thread's Mermaid
sequence diagram (``m.diagram(msg_id)``) to the clipboard; put in a Markdown cell, JupyterLab
(4.6, whose Markdown renders ``mermaid`` fences) draws it as an SVG image.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from playwright.sync_api import Page, expect

from jpf_widget import Monitor

from .conftest import Front, Server, open_notebook, run_cell, shoot

pytestmark = pytest.mark.e2e

TARGET_CELLS = [
    'print("first line", flush=True)',
    'import sys\nprint("second line", flush=True)\nprint("not a match", file=sys.stderr)',
    "x = 1",
    'print("drawn as a diagram", flush=True)',
]


def rows(page: Page, msg_type: str = ""):
    sel = "[data-role=row]" + (f"[data-msg-type={msg_type}]" if msg_type else "")
    return page.locator(f".jpf-monitor {sel}")


def watch(front: Front, server: Server, name: str) -> tuple[Page, Page, str]:
    """The target notebook (its cells run) and a monitor notebook watching its kernel."""
    target_path = server.write_notebook(f"{name}-target.ipynb", TARGET_CELLS)
    target = open_notebook(front, server, target_path)
    target_id = server.wait_kernel_ready(target_path)
    monitor_path = server.write_notebook(
        f"{name}-monitor.ipynb", [f'from jpf_widget import Monitor\nm = Monitor("{target_id}")\nm']
    )
    mon = open_notebook(front, server, monitor_path)
    server.wait_kernel_ready(monitor_path)
    run_cell(mon, 0)
    expect(mon.locator(".jpf-monitor")).to_have_attribute("data-status", "connected")
    for index in range(len(TARGET_CELLS)):
        run_cell(target, index)
    mon.bring_to_front()
    expect(rows(mon, "stream").first).to_be_attached()
    return target, mon, target_id


def test_export_downloads_what_the_filters_show(
    lab_server: Server, front: Front, screenshots: Path, tmp_path: Path
) -> None:
    _, mon, target_id = watch(front, lab_server, "export")
    mon.locator(".jpf-monitor [data-role=filter-type][data-msg-type=stream]").click()
    mon.locator(".jpf-monitor [data-role=filter-text]").fill("line")
    expect(rows(mon, "stream")).to_have_count(2)
    expect(rows(mon)).to_have_count(3)  # and the "attached" marker: markers ignore the text
    shown = sorted(rows(mon, "stream").locator(".jpf-summary").all_inner_texts())
    assert shown == ["stdout: first line", "stdout: second line"], shown
    shoot(mon, screenshots, "export-1-filtered")

    button = mon.locator(".jpf-monitor [data-role=export]")
    with mon.expect_download() as info:
        button.click()
    download = info.value
    name = download.suggested_filename
    assert re.fullmatch(rf"{target_id[:8]}-\d{{8}}T\d{{6}}Z\.jsonl", name), name
    expect(button).to_have_attribute("data-state", "done")
    path = tmp_path / name
    download.save_as(path)

    loaded = Monitor.load(path)
    try:
        assert loaded.status == "replay"
        assert sorted(m.summary for m in loaded.messages) == shown
        assert {m.msg_type for m in loaded.messages} == {"stream"}
        assert loaded.stats["malformed"] == 0
    finally:
        loaded.close()
    front.check_console()


def test_a_thread_diagram_copied_from_the_view_renders_in_a_markdown_cell(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    front.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    _, mon, _ = watch(front, lab_server, "diagram")
    mon.locator(".jpf-monitor [data-role=mode][data-mode=threaded]").click()
    mon.locator(".jpf-monitor [data-role=filter-text]").fill("drawn as a diagram")
    head = mon.locator(".jpf-monitor .jpf-thread-head").filter(has_text="print")
    expect(head).to_have_count(1)
    copy = head.locator("[data-role=copy-diagram]")
    copy.click()
    expect(copy).to_have_attribute("data-copied", "true")
    text = str(mon.evaluate("navigator.clipboard.readText()"))
    assert text.startswith("```mermaid\nsequenceDiagram\n"), text
    assert "stream stdout: drawn as a diagram" in text, text
    shoot(mon, screenshots, "diagram-1-thread")

    path = lab_server.write_notebook("diagram.ipynb", ["1"])
    nb = nbformat.read(lab_server.root / path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))
    nbformat.write(nb, lab_server.root / path)
    page = open_notebook(front, lab_server, path)
    # JupyterLab draws the diagram as an SVG image (a warning box instead, when it cannot)
    figure = page.locator(".jp-MarkdownCell .jp-RenderedMermaid:not(.jp-mod-warning) figure img")
    expect(figure).to_be_visible(timeout=30_000)
    expect(figure).to_have_attribute("src", re.compile(r"^data:image/svg\+xml,"))
    assert int(figure.evaluate("img => img.naturalWidth")) > 100  # really decoded
    svg = unquote(str(figure.get_attribute("src")).split(",", 1)[1])
    assert "<svg" in svg, svg[:200]
    for label in ("Kernel", "IOPub", "stream stdout: drawn as a diagram"):
        assert label in svg, label
    shoot(page, screenshots, "diagram-2-markdown")
    front.check_console()
