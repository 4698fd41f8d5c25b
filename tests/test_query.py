"""Field queries in Python: the shared table of cases (``tests/query_cases.json``, which
``js/test/query.test.ts`` runs too), and the places that take a query: ``Monitor.query``, the
view's older rows (``rows.row_filter``) and its ``match`` request."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from jpf_widget import Monitor
from jpf_widget.log import Entry, MessageLog
from jpf_widget.query import QueryError, compile_query
from jpf_widget.rows import row, row_filter
from jpf_widget.trace import TraceWriter
from jpf_widget.wire import DELIMITER, split_frames

TABLE = json.loads((Path(__file__).parent / "query_cases.json").read_text("utf-8"))


def table_log() -> tuple[MessageLog, dict[str, Entry]]:
    """The table's messages and marker in a log, in the table's order."""
    log = MessageLog()
    for item in TABLE["messages"].values():
        if "marker" in item:
            log.add_marker(item["marker"]["kind"], item["marker"]["text"], received=0.0)
            continue
        m = item["message"]
        parts = [orjson.dumps(m[k]) for k in ("header", "parent_header", "metadata", "content")]
        log.add_many(
            m["channel"],
            [split_frames([DELIMITER, b"", *parts])],
            received=0.0,
            direction=m.get("direction", "from_kernel"),
            client=m.get("client", ""),
        )
    return log, dict(zip(TABLE["messages"], log.entries_after(-1), strict=True))


def test_the_tables_rows_are_what_the_view_is_sent() -> None:
    """The JS test decides on these rows: they must be what rows.row() makes of the messages."""
    _, entries = table_log()
    for name, entry in entries.items():
        sent = row(entry)
        del sent["t"]
        assert sent == TABLE["messages"][name]["row"], name


def test_the_table_covers_every_feature() -> None:
    queries = [case["query"] for case in TABLE["cases"]]
    assert len(queries) >= 40
    assert len(set(queries)) == len(queries)
    joined = " ".join(queries)
    for feature in (
        " OR ",
        "-",
        '"',
        "\\",
        "*",
        "content.",
        "header.",
        "metadata.",
        ":true",
        ":null",
    ):
        assert feature in joined, feature
    assert len(TABLE["errors"]) >= 10


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda case: case["query"] or "(empty)")
def test_a_case_of_the_table(case: dict[str, Any]) -> None:
    _, entries = table_log()
    query = compile_query(case["query"])
    assert [name for name, entry in entries.items() if query(entry)] == case["matches"]


@pytest.mark.parametrize("case", TABLE["errors"], ids=lambda case: case["query"])
def test_a_malformed_query_of_the_table(case: dict[str, Any]) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(case["query"])
    assert (caught.value.position, caught.value.message) == (case["position"], case["message"])
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"column {case['position'] + 1}: {case['message']}"


def test_deep_is_set_by_a_path_term_only() -> None:
    assert compile_query("content.data.method:update OR msg_type:x").deep
    assert compile_query("-metadata.x:*").deep
    assert not compile_query('msg_type:x -summary:"a.b" content').deep


def test_row_filter_applies_the_query_to_older_rows() -> None:
    _, entries = table_log()

    def kept(text: str) -> list[str]:
        keep = row_filter({"text": text, "show_status": True})
        return [name for name, entry in entries.items() if keep(entry)]

    # markers follow only the channel filter, whatever the query
    assert kept("content.data.method:update") == ["comm_update", "restart_marker"]
    assert kept("-channel:iopub hello OR client:c1") == [
        "exec_request",
        "exec_reply",
        "restart_marker",
    ]
    with pytest.raises(QueryError):
        row_filter({"text": "nope:1"})


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[Monitor]:
    log, _ = table_log()
    path = tmp_path / "table.jsonl"
    with TraceWriter(path, kernel_id="k") as writer:
        for message in log.messages():
            writer.write_message(message)
    monitor = Monitor.load(path, close_after_hidden=None)
    yield monitor
    monitor.close()


def test_monitor_query_gives_the_matching_messages(replay: Monitor) -> None:
    found = replay.query("content.data.method:* OR msg_type:error")
    assert [m.msg_id for m in found] == ["k-04-comm", "k-05-comm", "k-09-error"]
    assert found == [
        m for m in replay.messages if m.msg_id in {"k-04-comm", "k-05-comm", "k-09-error"}
    ]
    assert len(replay.query("")) == len(replay.messages) == 9
    with pytest.raises(QueryError, match="column 1: unknown field"):
        replay.query("nope:1")


def test_the_view_asks_which_rows_match_a_deep_query(replay: Monitor) -> None:
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    replay.comm.send = lambda data, buffers=None, **_: sent.append((data, list(buffers or [])))  # type: ignore[method-assign]

    def ask(content: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        replay._handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )
        data, buffers = sent[-1]
        return data["content"], buffers

    seqs = [m.seq for m in replay.messages]
    answer, [buffer] = ask(
        {"kind": "match", "id": 5, "query": "content.data.state.value:42", "seqs": seqs}
    )
    assert answer == {"kind": "match", "id": 5, "query": "content.data.state.value:42"}
    matched = list(struct.unpack(f"<{len(buffer) // 8}d", buffer))
    assert matched == [m.seq for m in replay.messages if m.msg_id == "k-04-comm"]
    # seqs not held (or not numbers) are left out; a bad query is an error answer
    answer, _ = ask({"kind": "match", "id": 6, "query": "content:*", "seqs": [10**9, "x"]})
    assert answer["kind"] == "error"
    assert answer["id"] == 6
    assert "content is an object" in answer["message"]
    answer, [buffer] = ask({"kind": "match", "id": 7, "query": "msg_type:*", "seqs": [10**9, "x"]})
    assert (answer["kind"], buffer) == ("match", b"")
