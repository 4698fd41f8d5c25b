"""The message log: budget, eviction counts, indexes, waiting."""

from __future__ import annotations

import gc
import threading

import orjson
import pytest

from jpf_widget.log import ENTRY_OVERHEAD, MessageLog
from jpf_widget.messages import CommMsg, Marker, Message, Status, Stream
from jpf_widget.wire import DELIMITER, split_frames


def frames(msg_type: str, msg_id: str, parent: str = "", content: object = None, pad: int = 0):
    header = {"msg_id": msg_id, "msg_type": msg_type, "session": "s"}
    parent_header = {"msg_id": parent, "msg_type": "execute_request"} if parent else {}
    body = content if content is not None else {"pad": "x" * pad}
    return split_frames(
        [
            DELIMITER,
            b"",
            orjson.dumps(header),
            orjson.dumps(parent_header),
            b"{}",
            orjson.dumps(body),
        ]
    )


def test_indexes_by_id_parent_comm_and_type() -> None:
    log = MessageLog()
    log.add("iopub", frames("status", "a", "req1", {"execution_state": "busy"}))
    log.add("iopub", frames("stream", "b", "req1", {"name": "stdout", "text": "hi"}))
    log.add("iopub", frames("comm_msg", "c", "req2", {"comm_id": "C1", "data": {"x": 1}}))
    log.add("iopub", frames("status", "d", "req1", {"execution_state": "idle"}))
    assert [m.msg_id for m in log.thread("req1")] == ["a", "b", "d"]
    assert [m.msg_id for m in log.comm("C1")] == ["c"]
    assert [m.msg_id for m in log.of_type("status")] == ["a", "d"]
    message = log.get("b")
    assert isinstance(message, Stream)
    assert message.text == "hi"
    assert isinstance(log.get("c"), CommMsg)
    assert isinstance(log.get("a"), Status)
    stats = log.stats()
    assert stats["captured"] == 4
    assert stats["by_type"] == {"status": 2, "stream": 1, "comm_msg": 1}
    assert stats["by_channel"] == {"iopub": 4}


def test_budget_evicts_oldest_and_counts() -> None:
    one = frames("stream", "m00", "p", pad=1000)
    cost = one.size + ENTRY_OVERHEAD
    log = MessageLog(budget=cost * 10)
    for i in range(25):
        log.add("iopub", frames("stream", f"m{i:02d}", "p", pad=1000))
    stats = log.stats()
    assert stats["held"] == 10
    assert stats["evicted"] == 15
    assert stats["held_bytes"] <= log.budget
    assert [m.msg_id for m in log.messages()] == [f"m{i:02d}" for i in range(15, 25)]
    assert log.get("m00") is None
    assert [m.msg_id for m in log.thread("p")] == [f"m{i:02d}" for i in range(15, 25)]
    assert [e.seq for e in log.by_seq([0, 14, 15, 24, 99])] == [15, 24]
    # what a view scrolling up is given: only held entries, the nearest first in line
    assert [e.seq for e in log.entries_before(20, 3)] == [17, 18, 19]
    assert [e.seq for e in log.entries_before(18, 100)] == [15, 16, 17]
    assert [e.seq for e in log.entries_before(99, 2)] == [23, 24]
    assert log.entries_before(15, 5) == []
    assert log.entries_before(3, 5) == []


def test_search_before_pages_back_through_what_passes_a_filter() -> None:
    log = MessageLog()
    for i in range(30):
        log.add("iopub", frames("stream" if i % 3 == 0 else "status", f"m{i:02d}"))
    log.add_marker("restart", "kernel restarted")  # seq 30
    is_stream = lambda e: isinstance(e, Message) and e.msg_type == "stream"  # noqa: E731
    # a page: the newest matches below `before`, in order; where to go on; not done
    found, cursor, done = log.search_before(31, is_stream, limit=4, chunk=7)
    assert [e.seq for e in found] == [18, 21, 24, 27]
    assert (cursor, done) == (18, False)
    # the next page goes on below the cursor and reaches the start
    found, cursor, done = log.search_before(cursor, is_stream, limit=4, chunk=7)
    assert [e.seq for e in found] == [6, 9, 12, 15]
    assert (cursor, done) == (6, False)
    found, cursor, done = log.search_before(cursor, is_stream, limit=4, chunk=7)
    assert [e.seq for e in found] == [0, 3]
    assert (cursor, done) == (0, True)
    # `above` bounds the search (a view cleared at seq 20 asks for nothing at or below it)
    found, _, done = log.search_before(31, is_stream, above=20, limit=10, chunk=4)
    assert [e.seq for e in found] == [21, 24, 27]
    assert done
    # markers pass through a filter that keeps them
    found, _, done = log.search_before(31, lambda e: isinstance(e, Marker), limit=10)
    assert [e.seq for e in found] == [30]
    assert done
    # out of time: an answer with what was found so far, and where to go on
    found, cursor, done = log.search_before(31, is_stream, seconds=0)
    assert (found, cursor, done) == ([], 31, False)


def test_markers_are_in_order_but_not_messages() -> None:
    log = MessageLog()
    log.add("iopub", frames("status", "a"))
    marker = log.add_marker("restart", "kernel restarted")
    log.add("iopub", frames("status", "b"))
    assert isinstance(marker, Marker)
    assert [e.seq for e in log.entries_after(-1)] == [0, 1, 2]
    assert [m.msg_id for m in log.messages()] == ["a", "b"]
    assert [e.seq for e in log.entries_after(0, limit=1)] == [2]


def test_wait_for_sees_history_and_new_arrivals() -> None:
    log = MessageLog()
    log.add("iopub", frames("status", "old"))
    found = log.wait_for(lambda m: m.msg_type == "status", timeout=1)
    assert found is not None
    assert found.msg_id == "old"
    timer = threading.Timer(0.1, lambda: log.add("iopub", frames("error", "late")))
    timer.start()
    late = log.wait_for(lambda m: m.msg_type == "error", timeout=5)
    timer.join()
    assert late is not None
    assert late.msg_id == "late"
    assert log.wait_for(lambda m: m.msg_type == "nothing", timeout=0.05) is None


def test_wait_for_a_type_looks_only_at_messages_of_that_type() -> None:
    log = MessageLog()
    for i in range(1000):
        log.add("iopub", frames("comm_msg", f"c{i}", content={"comm_id": "C"}))
    log.add_marker("gap", "a marker between")
    log.add("iopub", frames("stream", "s1", content={"name": "stdout", "text": "a"}))
    log.add("iopub", frames("stream", "s2", content={"name": "stdout", "text": "b"}))
    looked_at: list[str] = []

    def second_text(message: Message) -> bool:
        looked_at.append(message.msg_id)
        return isinstance(message, Stream) and message.text == "b"

    found = log.wait_for(second_text, timeout=1, msg_type="stream")
    assert found is not None
    assert found.msg_id == "s2"
    assert looked_at == ["s1", "s2"]


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive number of bytes"):
        MessageLog(budget=0)


def test_a_replayed_message_is_counted_not_kept() -> None:
    log = MessageLog()
    first = frames("stream", "same-id", "p", {"name": "stdout", "text": "once"})
    assert log.add("iopub", first) is not None
    assert log.add("iopub", first) is None
    stats = log.stats()
    assert (stats["captured"], stats["bad_signature"], stats["replayed"]) == (1, 1, 1)


def test_held_messages_add_no_work_for_the_garbage_collector() -> None:
    # A log of a million messages held as objects made every full collection in the hosting
    # kernel walk all of them (90-180 ms pauses at 30,000); records are plain tuples that the
    # collector stops tracking.
    log = MessageLog()
    batch = [
        frames("comm_msg", f"m{i}", "req", {"comm_id": "C1", "data": {"i": i}}) for i in range(64)
    ]
    gc.collect()
    before = len(gc.get_objects())
    for i in range(300):
        log.add_many(
            "iopub",
            [f._replace(header={**f.header, "msg_id": f"{i}-{f.header['msg_id']}"}) for f in batch],
        )
    gc.collect()
    assert log.stats()["held"] == 300 * 64
    assert len(gc.get_objects()) - before < 1000
    assert [m.comm_id for m in log.comm("C1")[-2:]] == ["C1", "C1"]


def test_indexes_stay_right_through_long_eviction() -> None:
    # enough evictions that the log and its indexes cut their evicted fronts several times
    one = frames("comm_msg", "x", "p", {"comm_id": "A", "pad": "x" * 100})
    log = MessageLog(budget=(one.size + ENTRY_OVERHEAD) * 1500)
    for i in range(20_000):
        parent = "p" if i % 3 else "q"
        comm = "A" if i % 2 else "B"
        log.add("iopub", frames("comm_msg", f"m{i}", parent, {"comm_id": comm, "pad": "x" * 100}))
        if i % 1000 == 0:
            log.add_marker("gap", f"marker {i}")
    held = [m for m in log.entries_after(-1) if not isinstance(m, Marker)]
    assert 1000 < len(held) < 1500
    assert log.stats()["held"] == len(log.entries_after(-1))
    assert log.stats()["evicted"] == 20_000 - len(held)
    assert [m.msg_id for m in log.thread("p")] == [m.msg_id for m in held if m.parent_id == "p"]
    assert [m.msg_id for m in log.comm("B")] == [m.msg_id for m in held if m.comm_id == "B"]
    assert [m.msg_id for m in log.of_type("comm_msg")] == [m.msg_id for m in held]
    assert [m.msg_id for m in log.thread("q", limit=3)] == [
        m.msg_id for m in held if m.parent_id == "q"
    ][-3:]
    assert log.get("m0") is None
    assert log.get("m19999") == held[-1]
    newest = held[-1].seq
    assert [e.seq for e in log.by_seq([newest, newest - 1, 0, newest + 5])] == [
        newest,
        newest - 1,
    ]
    assert [e.seq for e in log.entries_after(newest - 3)] == [newest - 2, newest - 1, newest]
    assert [e.seq for e in log.entries_after(held[0].seq, 2, oldest=True)] == [
        held[0].seq + 1,
        held[0].seq + 2,
    ]


def test_messages_is_a_sequence_that_makes_each_message_when_read() -> None:
    log = MessageLog()
    for i in range(5):
        log.add("iopub", frames("stream", f"m{i}", content={"name": "stdout", "text": str(i)}))
        log.add_marker("gap", "markers are left out")
    messages = log.messages()
    assert len(messages) == 5
    assert isinstance(messages[0], Stream)
    assert messages[-1].text == "4"
    assert [m.msg_id for m in messages[1:3]] == ["m1", "m2"]
    assert [m.msg_id for m in messages] == [f"m{i}" for i in range(5)]
    assert messages == list(messages)
    assert messages == log.messages()
    assert messages != ["m0"]
    with pytest.raises(IndexError):
        messages[5]
    gc.collect()
    before = len(gc.get_objects())
    held = MessageLog()
    for i in range(20):
        held.add_many(
            "iopub",
            [
                frames("status", f"s{i}-{j}", content={"execution_state": "idle"})
                for j in range(500)
            ],
        )
    everything = held.messages()
    gc.collect()
    assert len(everything) == 10_000
    assert len(gc.get_objects()) - before < 1000  # one list of records, no object per message
