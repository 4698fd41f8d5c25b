"""Rows for the view and the older-row filter: the fields and rules ``js/src`` relies on."""

from __future__ import annotations

import orjson

from jpf_widget.log import MessageLog
from jpf_widget.messages import TO_KERNEL
from jpf_widget.rows import row, row_filter
from jpf_widget.wire import DELIMITER, split_frames


def frames(msg_type: str, msg_id: str, parent: str = "", content: object = None):
    header = {"msg_id": msg_id, "msg_type": msg_type, "session": "s"}
    parent_header = {"msg_id": parent, "msg_type": "execute_request"} if parent else {}
    parts = [orjson.dumps(header), orjson.dumps(parent_header), b"{}", orjson.dumps(content or {})]
    return split_frames([DELIMITER, b"", *parts])


def filled_log() -> MessageLog:
    log = MessageLog()
    log.add_many(
        "shell",
        [frames("execute_request", "req", content={"code": "1"})],
        direction=TO_KERNEL,
        client="c1",
    )
    log.add("iopub", frames("status", "busy", "req", {"execution_state": "busy"}))
    log.add_many("shell", [frames("execute_reply", "rep", "req", {"status": "error"})], client="c1")
    log.add_many(
        "shell", [frames("kernel_info_request", "probe")], direction=TO_KERNEL, client="me"
    )
    log.add_many(
        "shell", [frames("kernel_info_reply", "info", "probe", {"status": "ok"})], client="me"
    )
    return log


def test_rows_carry_direction_client_and_a_replys_status() -> None:
    rows = {r["msg_id"]: r for r in (row(e) for e in filled_log().entries_after(-1))}
    assert (rows["req"]["direction"], rows["req"]["client"]) == ("to_kernel", "c1")
    assert (rows["busy"]["direction"], rows["busy"]["client"]) == ("from_kernel", "")
    assert rows["rep"]["state"] == "error"
    assert rows["busy"]["state"] == "busy"
    assert rows["req"]["state"] == ""


def test_the_monitors_own_request_and_its_reply_are_own() -> None:
    entries = filled_log().entries_after(-1)
    own = {r["msg_id"] for r in (row(e, {"probe"}) for e in entries) if r["own"]}
    assert own == {"probe", "info"}
    shown = [e.msg_id for e in entries if row_filter({"show_status": True}, {"probe"})(e)]
    assert shown == ["req", "busy", "rep"]


def test_filters_by_direction_and_client_keep_iopub_for_every_client() -> None:
    entries = filled_log().entries_after(-1)

    def kept(filters: dict[str, object]) -> list[str]:
        keep = row_filter({"show_status": True, **filters})
        return [e.msg_id for e in entries if keep(e)]

    assert kept({"directions": ["to_kernel"]}) == ["req", "probe"]
    assert kept({"directions": ["from_kernel"]}) == ["busy", "rep", "info"]
    assert kept({"clients": ["c1"]}) == ["req", "busy", "rep"]
    assert kept({"clients": ["me"], "directions": ["from_kernel"]}) == ["busy", "info"]


def test_only_problems_keeps_the_messages_that_break_the_spec_and_the_markers() -> None:
    header = {"msg_id": "", "msg_type": "stream", "session": "s", "username": "u"}
    header |= {"date": "2026-12-05T10:00:00.000000Z", "version": "5.3"}
    log = MessageLog()
    for msg_id, name in (("good", "stdout"), ("bad", "stdlog")):
        parts = [header | {"msg_id": msg_id}, {}, {}, {"name": name, "text": "x"}]
        log.add("iopub", split_frames([DELIMITER, b"", *map(orjson.dumps, parts)]))
    log.add_marker("restart", "the kernel restarted", received=0.0)
    entries = log.entries_after(-1)
    assert [row(e).get("problems") for e in entries] == [0, 1, None]
    keep = row_filter({"only_problems": True})
    assert [e.seq for e in entries if keep(e)] == [1, 2]
    assert [e.seq for e in entries if row_filter({})(e)] == [0, 1, 2]
