"""notebooks/demo.ipynb runs top to bottom in a real kernel (nbclient, no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .e2e.conftest import kill_processes_using

DEMO = Path(__file__).resolve().parents[1] / "notebooks" / "demo.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "".join(parts)


def test_demo_is_saved_without_outputs() -> None:
    nb = nbformat.read(DEMO, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], cell.source
            assert cell.execution_count is None, cell.source


@pytest.mark.timeout(300)
def test_demo_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The notebook's kernel, and the second kernel it starts, write their connection files here.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(DEMO, as_version=4)
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()  # raises CellExecutionError on any error output
    finally:
        # if the run stopped half way, the demo's second kernel would outlive it
        kill_processes_using(tmp_path / "runtime")

    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        errors = [o for o in cell.outputs if o["output_type"] == "error"]
        assert not errors, (cell.source, errors)

    # the Monitor was displayed as a widget
    shown = [o for c in code for o in c.outputs if o.get("data", {}).get(WIDGET_VIEW) is not None]
    assert shown, "the Monitor widget was not displayed"

    # the busy cell ran five requests in the watched kernel; 1/0 failed there, not here
    busy = next(c for c in code if 'run("1/0")' in c.source)
    assert text_of(busy).replace('"', "'") == "['ok', 'ok', 'error', 'ok', 'ok']"

    # the thread of the print request: its execute_input and its stream
    thread = text_of(next(c for c in code if "m.thread(" in c.source))
    assert "execute_input" in thread
    assert "hello from the watched kernel" in thread

    api = text_of(next(c for c in code if "comm_messages" in c.source))
    assert "ZeroDivisionError" in api
    assert "jupyter.widget IntSliderModel" in api
    assert "['comm_open', 'comm_msg']" in api

    stats = text_of(next(c for c in code if "stats = m.stats" in c.source))
    captured = int(re.search(r"captured (\d+) messages", stats)[1])  # type: ignore[index]
    assert captured >= 20, stats
    counts = dict(re.findall(r"^\s+(\w+)\s+(\d+)$", stats, re.MULTILINE))
    for msg_type in (
        "status",
        "execute_input",
        "stream",
        "display_data",
        "error",
        "comm_open",
        "comm_msg",
        "clear_output",
    ):
        assert int(counts.get(msg_type, 0)) >= 1, (msg_type, stats)
    assert int(counts["stream"]) >= 2, stats  # the print and at least one tick

    last = text_of(code[-1])
    assert "second kernel alive: False · monitor: dead" in last
    assert "messages still readable" in last
