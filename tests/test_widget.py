"""The Monitor's side of the view protocol, and the key staying in Python.

The view itself runs in Chromium in tests/e2e; here the comm to it is replaced by a recorder
(the one stand-in in these tests), so every message Python sends can be inspected.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from jpf_widget import Monitor
from jpf_widget.kernels import read_connection_file

from .conftest import Kernel, wait_until


class Recorder:
    """Stands in for the comm to a browser: keeps what the widget sends."""

    def __init__(self, monitor: Monitor) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        monitor.comm.send = self.send

    def send(self, data: dict[str, Any], buffers: list[bytes] | None = None, **_: Any) -> None:
        self.sent.append((data, [bytes(b) for b in buffers or []]))

    def custom(self, kind: str) -> list[tuple[dict[str, Any], list[Any]]]:
        out = []
        for data, buffers in self.sent:
            if data.get("method") == "custom" and data["content"].get("kind") == kind:
                out.append((data["content"], [orjson.loads(b) for b in buffers]))
        return out


def ask(monitor: Monitor, content: dict[str, Any]) -> None:
    """Deliver a message from the view, the way ipywidgets does."""
    monitor._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


@pytest.fixture
def watched(kernel: Kernel) -> Any:
    monitor = Monitor(kernel.kernel_id)
    recorder = Recorder(monitor)
    monitor.wait_until_connected(15)
    yield monitor, recorder
    monitor.close()


def test_history_then_batched_rows_then_bodies(watched: Any, kernel: Kernel) -> None:
    monitor, recorder = watched
    assert recorder.custom("rows") == []  # nothing is streamed before a view asks
    ask(monitor, {"kind": "history", "id": 1})
    [(reply, [rows])] = recorder.custom("history")
    assert reply["id"] == 1
    assert reply["total"] == len(rows)
    assert rows[0]["channel"] == "monitor"
    assert rows[0]["msg_type"] == "attached"
    request = kernel.run("for i in range(300): print(i, flush=True)")
    wait_until(
        lambda: any(
            r["parent_id"] == request and r["state"] == "idle"
            for _, [batch] in recorder.custom("rows")
            for r in batch
        )
    )
    batches = [batch for _, [batch] in recorder.custom("rows")]
    streamed = [r for batch in batches for r in batch]
    seqs = [r["seq"] for r in streamed]
    assert seqs == sorted(set(seqs))  # in order, no duplicates
    assert seqs[0] == rows[-1]["seq"] + 1  # continues exactly where history ended
    assert len(batches) < len(streamed) / 5  # batched, not one comm message per message
    code = next(r for r in streamed if r["msg_type"] == "execute_input")
    assert code["code"].startswith("for i in range(300)")
    assert code["parent_type"] == "execute_request"
    stream = next(r for r in streamed if r["msg_type"] == "stream")
    assert stream["summary"].startswith("stdout: 0")
    ask(monitor, {"kind": "bodies", "id": 2, "seqs": [stream["seq"], 10**9]})
    [(reply, [bodies])] = recorder.custom("bodies")
    assert reply["id"] == 2
    assert len(bodies) == 1
    assert bodies[0]["content"]["name"] == "stdout"
    assert bodies[0]["parent_header"]["msg_id"] == request


def test_unknown_request_gets_an_error_not_an_exception(watched: Any) -> None:
    monitor, recorder = watched
    ask(monitor, {"kind": "frobnicate", "id": 7})
    [(reply, _)] = recorder.custom("error")
    assert reply == {"kind": "error", "id": 7, "message": "unknown request 'frobnicate'"}


def test_a_view_that_comes_back_keeps_the_monitor_then_hidden_it_closes(kernel: Kernel) -> None:
    monitor = Monitor(kernel.kernel_id, close_after_hidden=0.5)
    Recorder(monitor)
    try:
        monitor.wait_until_connected(15)
        ask(monitor, {"kind": "history", "id": 1})
        ask(monitor, {"kind": "views", "count": 0})  # the output was cleared ...
        ask(monitor, {"kind": "history", "id": 2})  # ... and the cell run again at once
        # the kernel takes twice the grace period to answer: a pending close would have fired
        kernel.run("import time; time.sleep(1); print('still watched')")
        monitor.wait_for(lambda m: m.msg_type == "stream", 15)
        assert monitor.status == "connected"
        ask(monitor, {"kind": "views", "count": 0})  # now the cell is deleted
        wait_until(lambda: monitor.status == "closed", 15, "closed by itself")
        assert "no view showed it for 0.5 s" in monitor.status_detail
        assert monitor.messages  # what was captured stays readable
    finally:
        monitor.close()


def test_traits_follow_the_kernel(watched: Any) -> None:
    monitor, _ = watched
    assert monitor.status == "connected"
    wait_until(lambda: monitor.kernel_info is not None)
    assert monitor.kernel_info["implementation"] == "ipython"
    wait_until(lambda: monitor.counters.get("captured", 0) >= 1)
    assert monitor.connection["transport"] == "tcp"
    assert set(monitor.counters) >= {"captured", "lost", "evicted", "bad_signature", "malformed"}


def test_view_trait_accepts_modes_only(kernel: Kernel) -> None:
    with Monitor(kernel.kernel_id, view="raw") as monitor:
        assert monitor.view == "raw"
        monitor.view = "threaded"
        with pytest.raises(Exception, match="rendered"):
            monitor.view = "sideways"


def test_the_key_never_leaves_python(
    kernel: Kernel, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    key = read_connection_file(kernel.connection_file).key.decode()
    assert key
    caplog.set_level(logging.DEBUG)
    with Monitor(kernel.kernel_id) as monitor:
        recorder = Recorder(monitor)
        monitor.wait_until_connected(15)
        ask(monitor, {"kind": "history", "id": 1})
        kernel.run("print('x')")
        every_seq = list(range(monitor._log.last_seq + 1))
        ask(monitor, {"kind": "bodies", "id": 2, "seqs": every_seq})
        state = json.dumps(monitor.get_state(), default=str)
        sent = b"".join(orjson.dumps(d) + b"".join(bufs) for d, bufs in recorder.sent)
        assert key not in state
        assert key.encode() not in sent
        assert key not in repr(monitor)
        assert key not in repr(monitor._backend.info)  # type: ignore[union-attr]
        assert all(key not in repr(m) for m in monitor.messages)
    assert key not in caplog.text


COMM_FLOOD = """
from comm import create_comm
c = create_comm(target_name="jpf.test")
for i in range({n}):
    c.send({{"i": i}})
c.close()
"""


def test_a_view_gets_the_window_then_older_rows_in_pages_by_its_filters(
    watched: Any, kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor, recorder = watched
    monitor.window_rows = 50
    kernel.run(COMM_FLOOD.format(n=200))
    wait_until(lambda: monitor._log.of_type("comm_close"), 15, "the comm_close")
    ask(monitor, {"kind": "history", "id": 1})
    [(_, [window])] = recorder.custom("history")
    assert len(window) == 50  # the newest window_rows, not the whole log
    assert window[-1]["seq"] == monitor._log.last_seq

    comm_msgs = [m.seq for m in monitor._log.of_type("comm_msg")]
    assert len(comm_msgs) == 200
    before = window[0]["seq"]
    wanted = [s for s in comm_msgs if s < before]
    filters = {"types": ["comm_msg"], "channels": [], "text": "", "show_status": False}
    monkeypatch.setattr("jpf_widget.feed.OLDER_ROWS", 60)
    pages: list[list[dict[str, Any]]] = []
    cursor, done = before, False
    while not done:
        request = {"kind": "older", "id": 10 + len(pages), "before": cursor, "above": -1}
        ask(monitor, {**request, "filters": filters})
        [(reply, [page])] = recorder.custom("older")[-1:]
        assert reply["id"] == request["id"]
        pages.append(page)
        # markers follow only the channel filter, as in the view
        assert all(r["msg_type"] == "comm_msg" or r["channel"] == "monitor" for r in page)
        assert [r["seq"] for r in page] == sorted(r["seq"] for r in page)
        assert all(r["seq"] < cursor for r in page)
        cursor, done = reply["next"], reply["done"]
        assert len(pages) < 10
    assert [len(p) for p in pages[:-1]] == [60] * (len(pages) - 1)  # full pages, then the rest
    got = [r["seq"] for page in reversed(pages) for r in page if r["channel"] != "monitor"]
    assert got == wanted  # every older comm_msg exactly once, and nothing else

    monkeypatch.undo()  # pages of 500 again: each answer below reaches the log's start
    # The text filter, and "above": nothing at or below it is searched.
    ask(monitor, {"kind": "older", "id": 40, "before": before, "above": -1,
                  "filters": {**filters, "text": r'"\"I\":17}"'}})  # fmt: skip
    [(reply, [page])] = recorder.custom("older")[-1:]
    found = [r for r in page if r["channel"] != "monitor"]
    assert [r["summary"].endswith('{"i":17}') for r in found] == [True]
    assert reply["done"]
    page = found
    ask(monitor, {"kind": "older", "id": 41, "before": before, "above": page[0]["seq"],
                  "filters": {**filters, "text": r'"\"i\":17}"'}})  # fmt: skip
    [(reply, [page])] = recorder.custom("older")[-1:]
    assert page == []
    assert reply["done"]

    # status rows only with show_status; the monitor's own probe replies only with show_own
    ask(monitor, {"kind": "older", "id": 42, "before": before, "above": -1, "filters": {}})
    [(_, [page])] = recorder.custom("older")[-1:]
    assert page
    assert not any(r["msg_type"] == "status" or r.get("own") for r in page)
    assert any(r["channel"] == "monitor" for r in page)  # the attached marker
    ask(monitor, {"kind": "older", "id": 43, "before": before, "above": -1,
                  "filters": {"show_status": True, "show_own": True}})  # fmt: skip
    [(_, [page])] = recorder.custom("older")[-1:]
    assert any(r["msg_type"] == "status" for r in page)
    assert any(r["msg_type"] == "kernel_info_reply" and r.get("own") for r in page)

    ask(monitor, {"kind": "older", "id": 44, "before": "x", "above": -1})
    [(reply, _)] = recorder.custom("error")
    assert reply["id"] == 44
    assert "integer" in reply["message"]


def test_a_view_exports_what_its_filters_show_and_copies_a_threads_diagram(
    watched: Any, kernel: Kernel, tmp_path: Path
) -> None:
    monitor, recorder = watched
    request = kernel.run('print("to export", flush=True)\n1/0')
    wait_until(lambda: monitor._log.of_type("error"), 15, "the error")

    def answers(kind: str) -> list[tuple[dict[str, Any], list[bytes]]]:
        return [
            (data["content"], buffers)
            for data, buffers in recorder.sent
            if data.get("method") == "custom" and data["content"].get("kind") == kind
        ]

    ask(monitor, {"kind": "export", "id": 5, "filters": {"types": ["stream", "error"]}})
    [(reply, [trace])] = answers("export")
    assert reply["id"] == 5
    assert re.fullmatch(rf"{kernel.kernel_id[:8]}-\d{{8}}T\d{{6}}Z\.jsonl", reply["name"])
    wanted = [m.msg_id for m in monitor.messages if m.msg_type in ("stream", "error")]
    assert reply["messages"] == len(wanted) >= 2
    path = tmp_path / reply["name"]
    path.write_bytes(trace)
    loaded = Monitor.load(path)
    try:
        assert [m.msg_id for m in loaded.messages] == wanted
    finally:
        loaded.close()

    ask(monitor, {"kind": "diagram", "id": 6, "msg_id": request})
    [(reply, [text])] = answers("diagram")
    assert reply == {"kind": "diagram", "id": 6}
    assert text.decode() == monitor.diagram(request)
    assert "sequenceDiagram" in text.decode()


def test_rows_sent_before_the_linter_reached_them_get_their_problem_counts(
    kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a flood lasts the flusher sends rows the linter has not checked (their count says
    0); once it has, the views get the counts of those that break a rule."""
    monkeypatch.setattr("jpf_widget.widget._LINT_FLOOD", -1)  # every tick is a flood
    with Monitor(kernel.kernel_id) as monitor:
        recorder = Recorder(monitor)
        monitor.wait_until_connected(15)
        ask(monitor, {"kind": "history", "id": 1})
        kernel.run(
            "k = get_ipython().kernel\n"
            'k.session.send(k.iopub_socket, "stream", {"name": "stdlog", "text": "lint me"}, '
            "parent=k.get_parent())"
        )

        def sent_row() -> dict[str, Any] | None:
            rows = [r for _, [batch] in recorder.custom("rows") for r in batch]
            return next((r for r in rows if r["summary"].startswith("stdlog: lint me")), None)

        wait_until(lambda: sent_row() is not None)
        bad = sent_row()
        assert bad is not None
        assert bad["problems"] == 0  # sent unchecked
        assert recorder.custom("problems") == []
        assert monitor.stats["problems"]["by_rule"].get("stream.name.enum") == 1  # catches up
        wait_until(lambda: recorder.custom("problems"))
        [(patch, [])] = recorder.custom("problems")
        assert dict(zip(patch["seqs"], patch["counts"], strict=True)) == {bad["seq"]: 1}
        ask(monitor, {"kind": "history", "id": 2})  # a view that comes later reads the count
        [_, (_, [rows])] = recorder.custom("history")
        counts = {r["seq"]: r.get("problems") for r in rows}
        assert counts[bad["seq"]] == 1
        assert sum(n for n in counts.values() if n) == 1
