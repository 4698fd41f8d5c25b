"""Monitor names kernels the way people do: notebooks, the picker, switching, remote servers.

A real jupyter_server with a token (the helpers of test_servers.py) runs kernels for two
notebooks; the Monitor is driven as a user would, and its view side through the same
request messages the browser sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jpf_widget import Monitor, Stream, list_kernels

from .conftest import wait_until
from .test_remote import execute
from .test_servers import Server, start_server
from .test_widget import Recorder, ask


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    server = start_server(tmp_path_factory.mktemp("discovery"))
    kernels = {
        "analysis.ipynb": server.start_session("work/analysis.ipynb"),
        "report.ipynb": server.start_session("report.ipynb"),
    }
    yield server, kernels
    server.stop()


def test_list_kernels_adds_what_the_server_knows(lab: tuple[Server, dict[str, str]]) -> None:
    server, kernels = lab
    listed = {k.kernel_id: k for k in list_kernels(server.runtime_dir)}
    analysis = listed[kernels["analysis.ipynb"]]
    assert analysis.notebook == "work/analysis.ipynb"
    assert analysis.server_url == server.url
    assert analysis.connection_file.endswith(f"kernel-{analysis.kernel_id}.json")
    assert analysis.execution_state in {"idle", "busy", "starting"}
    assert listed[kernels["report.ipynb"]].notebook == "report.ipynb"


def test_monitor_by_notebook_name_uses_the_local_connection_file(
    lab: tuple[Server, dict[str, str]],
) -> None:
    server, kernels = lab
    with Monitor("analysis.ipynb", runtime_dir=server.runtime_dir) as monitor:
        monitor.wait_until_connected(30)
        assert monitor.kernel_id == kernels["analysis.ipynb"]
        assert monitor.connection["transport"] == "tcp"  # local: ZMQ, not the websocket
        request = execute(server, monitor.kernel_id, "print('from analysis')")
        stream = monitor.wait_for(lambda m: isinstance(m, Stream) and m.parent_id == request, 15)
        assert stream.text == "from analysis\n"  # type: ignore[attr-defined]


def test_unknown_notebook_lists_kernels_and_sessions(lab: tuple[Server, dict[str, str]]) -> None:
    server, _ = lab
    monitor = Monitor("nowhere.ipynb", runtime_dir=server.runtime_dir)
    assert monitor.status == "failed"
    assert "work/analysis.ipynb" in monitor.status_detail
    monitor.close()


def test_picker_lists_and_attaches_on_request(lab: tuple[Server, dict[str, str]]) -> None:
    server, kernels = lab
    with Monitor(runtime_dir=server.runtime_dir) as monitor:
        assert monitor.status == "closed"
        assert "no kernel chosen" in monitor.status_detail
        notebooks = {k["notebook"]: k for k in monitor.kernels}
        assert set(notebooks) >= {"work/analysis.ipynb", "report.ipynb"}
        recorder = Recorder(monitor)
        ask(monitor, {"kind": "refresh", "id": 1})
        assert recorder.custom("refreshed") == [({"kind": "refreshed", "id": 1}, [])]
        ask(monitor, {"kind": "attach", "id": 2, "target": kernels["report.ipynb"]})
        assert recorder.custom("attached") == [({"kind": "attached", "id": 2}, [])]
        monitor.wait_until_connected(30)
        assert monitor.kernel_id == kernels["report.ipynb"]
        ask(monitor, {"kind": "attach", "id": 3, "target": "no-such-kernel"})
        [(error, _)] = recorder.custom("error")
        assert error["id"] == 3
        assert "no kernel matches" in error["message"]
        assert monitor.status == "failed"


def test_attach_switches_kernels_with_a_marker(lab: tuple[Server, dict[str, str]]) -> None:
    server, kernels = lab
    with Monitor(kernels["analysis.ipynb"], runtime_dir=server.runtime_dir) as monitor:
        monitor.wait_until_connected(30)
        monitor.attach("report.ipynb").wait_until_connected(30)
        assert monitor.kernel_id == kernels["report.ipynb"]
        request = execute(server, monitor.kernel_id, "print('from report')")
        monitor.wait_for(lambda m: isinstance(m, Stream) and m.parent_id == request, 15)
        kinds = [e.kind for e in monitor._log.entries_after(-1) if e.channel == "monitor"]  # type: ignore[union-attr]
        assert kinds[:3] == ["attached", "switched", "attached"]


def test_remote_attach_through_the_websocket(lab: tuple[Server, dict[str, str]]) -> None:
    server, kernels = lab
    with Monitor("report", server=server.url, token=server.token) as monitor:
        monitor.wait_until_connected(30)
        connection: dict[str, Any] = monitor.connection
        assert connection["transport"] == "websocket"
        assert connection["notebook"] == "report.ipynb"
        assert server.token not in repr(connection)
        request = execute(server, kernels["report.ipynb"], "print('over the websocket')")
        stream = monitor.wait_for(lambda m: isinstance(m, Stream) and m.parent_id == request, 15)
        assert stream.text == "over the websocket\n"  # type: ignore[attr-defined]
        wait_until(lambda: monitor.kernel_info is not None, 15, "kernel_info")


def test_remote_failure_is_shown_not_raised(lab: tuple[Server, dict[str, str]]) -> None:
    server, _ = lab
    monitor = Monitor("report", server=server.url, token="wrong-token")
    assert monitor.status == "failed"
    assert "token" in monitor.status_detail
    assert "wrong-token" not in monitor.status_detail
    monitor.close()


def test_remote_picker_lists_that_servers_kernels(
    lab: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, _ = lab
    # no local runtime dir knows this server: the list comes from server= alone
    with Monitor(server=server.url, token=server.token, runtime_dir=tmp_path) as monitor:
        assert {k["notebook"] for k in monitor.kernels} >= {"work/analysis.ipynb", "report.ipynb"}
