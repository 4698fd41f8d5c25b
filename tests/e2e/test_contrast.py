"""Readable in JupyterLab's light, dark and dark high-contrast themes (the three JupyterLab 4
ships): every visible text in the monitor, the kernel output it renders included (ANSI-coloured
stream text on stdout and on stderr's error background, tracebacks, HTML), has a contrast of at
least 4.5:1 against its background (3:1 for large text), computed in the browser from computed
styles (JupyterLab in Chromium). The client pills and reply statuses, shown only through a tap,
are audited in ``test_tap_jupyterlab.py`` with the same helper."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Front, Server, open_notebook, run_cell, shoot, wait_notebook_ready
from .test_jupyterlab import only, wait_saved

pytestmark = pytest.mark.e2e

AUDIT = (Path(__file__).parent / "contrast_audit.js").read_text()
THEMES_API = "/lab/api/settings/@jupyterlab/apputils-extension:themes"
THEMES = ("JupyterLab Light", "JupyterLab Dark", "JupyterLab Dark High Contrast")

# Every ANSI colour, foreground (normal and bright) and background, a 256-colour and a 24-bit
# one, bold and dim: on stdout, and on stderr (drawn on the error background).
ANSI_TEXT = (
    "''.join(f'\\x1b[{c}m{c}\\x1b[0m ' for c in [*range(30, 38), *range(90, 98), *range(40, 48)])"
    " + '\\x1b[38;5;208m256\\x1b[0m \\x1b[38;2;250;250;0m24bit\\x1b[0m \\x1b[1;31mbold\\x1b[0m"
    " \\x1b[2mdim\\x1b[0m'"
)
TARGET_CELLS = [
    f"print({ANSI_TEXT}, flush=True)",
    f"import sys\nprint({ANSI_TEXT}, file=sys.stderr, flush=True)",
    "def f():\n    return 1/0\nf()",
    'from IPython.display import HTML, display\ndisplay(HTML("<b>bold</b> html"))',
]


def set_theme(server: Server, theme: str) -> None:
    server.api("PUT", THEMES_API, {"raw": json.dumps({"theme": theme})})


def audit(page: Page, theme: str, screenshots: Path, name: str) -> list[dict[str, object]]:
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
    shoot(page, screenshots, f"contrast-{name}-{theme.replace(' ', '-').lower()}")
    return list(page.evaluate(AUDIT))


def audit_in_themes(
    server: Server,
    page: Page,
    path: str,
    screenshots: Path,
    views: dict[str, Callable[[], None]],
    *,
    status: str = "connected",
) -> dict[str, list[str]]:
    """Audit the monitor of the notebook at ``path`` in each of THEMES, after each of ``views``
    (name -> what brings that view on screen); the page is saved and reloaded for each theme
    (and the monitor shown again with this ``status``). Returns the failures by theme (none:
    an empty dict)."""
    failures: dict[str, list[dict[str, object]]] = {}
    try:
        for theme in THEMES:
            set_theme(server, theme)
            page.keyboard.press("Control+s")  # the widget's state, so the reload shows it again
            wait_saved(server, path)
            page.reload()
            wait_notebook_ready(page, server, path)
            expect(page.locator(".jpf-monitor")).to_have_attribute("data-status", status)
            for name, show in views.items():
                show()
                failures.setdefault(theme, []).extend(audit(page, theme, screenshots, name))
    finally:
        set_theme(server, "JupyterLab Light")
    return {
        theme: sorted(
            {
                f"{f['role']}/{f['cls']}: {f['ratio']} ({f['fg']} on {f['bg']}) {f['text']!r}"
                for f in found
            }
        )
        for theme, found in failures.items()
        if found
    }


def test_every_text_is_readable_in_every_theme(
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
    rows = mon.locator(".jpf-monitor [data-role=row]")
    expect(rows.filter(has_text="error").first).to_be_attached()

    def rendered() -> None:
        mon.locator(".jpf-monitor [data-role=mode][data-mode=rendered]").click()
        expect(mon.locator(".jpf-monitor")).to_have_attribute("data-view", "rendered")

    def streams() -> None:
        rendered()
        only(mon, "stream")
        summary = mon.locator(".jpf-monitor [data-role=row][data-msg-type=stream] .jpf-summary")
        expect(summary.first).to_contain_text("30 31 32")  # the colours' escapes left out
        for name in ("stdout", "stderr"):
            expect(
                mon.locator(f".jpf-monitor [data-role=preview] .jpf-{name} .ansi-red-bg")
            ).to_be_visible()

    def errors() -> None:
        only(mon, "error", "display_data")
        expect(mon.locator(".jpf-monitor [data-role=preview] .jpf-traceback")).to_be_visible()
        html = mon.locator(".jpf-monitor [data-role=preview] [data-role=rendered-output] b")
        expect(html).to_have_text("bold")

    def opened_error() -> None:
        only(mon, "error")
        mon.locator(".jpf-monitor [data-role=row][data-msg-type=error] .jpf-line").click()
        expect(mon.locator(".jpf-monitor .jpf-detail .jpf-traceback")).to_be_visible()

    def raw() -> None:
        only(mon)
        mon.locator(".jpf-monitor [data-role=mode][data-mode=raw]").click()
        json_text = mon.locator(".jpf-monitor [data-role=preview] [data-role=raw-json]")
        expect(json_text.first).to_be_visible()

    bad = audit_in_themes(
        lab_server,
        mon,
        monitor_path,
        screenshots,
        {"streams": streams, "errors": errors, "opened": opened_error, "raw": raw},
    )
    rendered()
    assert not bad, json.dumps(bad, indent=1)


def test_a_failed_monitor_is_readable_in_every_theme(
    lab_server: Server, front: Front, screenshots: Path
) -> None:
    """The red alert: why the monitor could not attach, on the theme's background."""
    path = lab_server.write_notebook(
        "contrast-failed.ipynb",
        ['from jpf_widget import Monitor\nbad = Monitor("no-such-kernel")\nbad'],
    )
    page = open_notebook(front, lab_server, path)
    run_cell(page, 0)
    detail = page.locator(".jpf-monitor [data-role=status-detail]")

    def failed() -> None:
        expect(detail).to_contain_text("no kernel matches")

    bad = audit_in_themes(lab_server, page, path, screenshots, {"failed": failed}, status="failed")
    assert not bad, json.dumps(bad, indent=1)
