"""Monitor in a real Notebook 7, in Chromium, watching a kernel started through the REST API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient
from playwright.sync_api import expect

from .conftest import Front, Server, open_notebook, run_cell, shoot, wait_until

pytestmark = pytest.mark.e2e


def test_monitor_in_notebook7(notebook_server: Server, front: Front, screenshots: Path) -> None:
    started = time.monotonic()
    server = notebook_server
    target_id = str(server.api("POST", "/api/kernels", {"name": "python3"})["id"])
    connection_file = server.runtime_dir / f"kernel-{target_id}.json"
    wait_until(connection_file.exists, 30, f"{connection_file.name} in the runtime dir")
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        path = server.write_notebook(
            "monitor.ipynb", [f'from jpf_widget import Monitor\nm = Monitor("{target_id}")\nm']
        )
        page = open_notebook(front, server, path)
        run_cell(page, 0)
        view = page.locator(".jpf-monitor")
        expect(view).to_have_attribute("data-status", "connected")
        expect(view.locator("[data-role=kernel-info]")).to_contain_text("python")

        reply = client.execute_interactive(
            'print("hello from a REST kernel")', timeout=30, output_hook=lambda _msg: None
        )
        assert reply["content"]["status"] == "ok"
        stream = view.locator("[data-role=row][data-msg-type=stream]")
        expect(stream.filter(has_text="hello from a REST kernel")).to_be_visible()
        expect(view.locator("[data-role=row][data-msg-type=execute_input]")).to_have_count(1)
        shoot(page, screenshots, "notebook7-1-monitor")

        def run(code: str) -> None:
            reply = client.execute_interactive(code, timeout=30, output_hook=lambda _msg: None)
            assert reply["content"]["status"] == "ok"

        # Clear hides what was captured so far; new messages still show
        view.locator("[data-role=clear]").click()
        expect(stream).to_have_count(0)
        run('print("after clear")')
        expect(stream).to_have_count(1)
        expect(stream).to_contain_text("after clear")

        # Pause freezes the list (capture goes on); Resume shows what came meanwhile
        pause = view.locator("[data-role=pause]")
        captured = view.locator("[data-role=counter][data-counter=captured]")
        pause.click()
        expect(pause).to_have_attribute("aria-pressed", "true")
        before = captured.inner_text()
        run('print("while paused")')
        expect(captured).not_to_have_text(before)  # capture and counters go on
        expect(stream.filter(has_text="while paused")).to_have_count(0)
        pause.click()
        expect(pause).to_have_attribute("aria-pressed", "false")
        expect(stream.filter(has_text="while paused")).to_have_count(1)
        shoot(page, screenshots, "notebook7-2-after-pause")
        front.check_console()
    finally:
        client.stop_channels()
    print(f"scenario 2 (Notebook 7) took {time.monotonic() - started:.1f} s")
