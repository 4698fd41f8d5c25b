"""Trace files: recorded from real kernels (``jpf record``, ``Monitor.save``,
``Monitor.record``), read back (``Monitor.load``, :class:`~jpf_widget.trace.TraceReader`),
damaged, and a million messages long; sequence diagrams of real threads.

Kernels are real ipykernels (a tapped one where requests and replies are needed), the recorder
is the ``jpf`` command in a process of its own, and an independent ZMQ subscriber checks what
the recording holds.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import zmq
from jupyter_client.kernelspec import KernelSpecManager

from jpf_widget import Monitor
from jpf_widget.diagram import sequence_diagram
from jpf_widget.log import MessageLog
from jpf_widget.messages import Marker, Message, make_message, new_record
from jpf_widget.recording import Recording
from jpf_widget.trace import RecordedMessage, TraceError, TraceReader, TraceWriter
from jpf_widget.wire import DELIMITER, split_frames

from .conftest import Kernel, wait_until
from .test_tap import install_specs, tapped_kernels

pytestmark = pytest.mark.timeout(180)

WORKLOAD = """
import sys
from IPython.display import HTML, display
from comm import create_comm
print('to stdout')
print('to stderr', file=sys.stderr)
handle = display(HTML('<b>first</b>'), display_id=True)
handle.update(HTML('<i>second</i>'))
comm = create_comm(target_name='jpf.trace', data={'opened': 1})
comm.send({'x': 2}, buffers=[b'\\x00\\x01\\x02'])
comm.close()
"""

# One line of a Mermaid sequenceDiagram as jpf_widget writes them
_TEXT = r"(?:[^\n;#<>%]|#\d+;)+"  # plain text and entity codes (#59; for ";")
MERMAID_LINE = re.compile(
    rf"^(sequenceDiagram"
    rf"|    participant [A-Z][A-Z0-9]* as {_TEXT}"
    rf"|    [A-Z][A-Z0-9]*(->>|-->>|-\)|->>)[A-Z][A-Z0-9]*: {_TEXT}"
    rf"|    Note over [A-Z][A-Z0-9]*: {_TEXT})$"
)


def well_formed(diagram: str) -> list[str]:
    """The diagram's lines; fails on one that is not Mermaid as written here."""
    assert diagram.endswith("\n")
    lines = diagram.splitlines()
    assert lines[0] == "sequenceDiagram"
    bad = [line for line in lines if not MERMAID_LINE.match(line)]
    assert not bad, bad
    declared = {line.split()[1] for line in lines if line.startswith("    participant ")}
    for line in lines[1:]:
        arrow = re.match(r"^    ([A-Z0-9]+)(?:->>|-->>|-\))([A-Z0-9]+):", line)
        if arrow:
            assert {arrow[1], arrow[2]} <= declared, line
    return lines


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    return install_specs(tmp_path_factory.mktemp("tap-prefix"))


@pytest.fixture
def tapped(runtime_dir: Path, specs: KernelSpecManager) -> Iterator[Kernel]:
    with tapped_kernels(runtime_dir, specs) as start:
        yield start()


class Subscriber:
    """An iopub subscriber of the test's own: the msg_ids the kernel published."""

    def __init__(self, url: str) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.socket = self.context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.connect(url)

    def take(self) -> list[str]:
        """The msg_ids of what was published since the last call."""
        ids = []
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return ids
            header = orjson.loads(frames[frames.index(DELIMITER) + 2])
            if header["msg_type"] != "iopub_welcome":
                ids.append(header["msg_id"])

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


def jpf(*args: str) -> list[str]:
    return [sys.executable, "-m", "jpf_widget.cli", *args]


def read(path: Path) -> tuple[dict[str, Any], list[RecordedMessage], int]:
    with TraceReader(path) as reader:
        messages = list(reader.messages())
    return reader.header, messages, reader.malformed


def idle_after(monitor: Monitor, request: str, timeout: float = 30) -> Message:
    return monitor.wait_for(
        lambda m: (
            m.msg_type == "status"
            and m.parent_id == request
            and m.content.get("execution_state") == "idle"
        ),
        timeout,
    )


def same(one: Message, other: Message, timed: bool = True) -> bool:
    return (
        one.msg_id == other.msg_id
        and (one.channel, one.direction, one.client)
        == (other.channel, other.direction, other.client)
        and one.header == other.header
        and one.parent_header == other.parent_header
        and one.metadata == other.metadata
        and one.content == other.content
        and [bytes(b) for b in one.buffers] == [bytes(b) for b in other.buffers]
        and (not timed or abs(one.received - other.received) < 1e-6)
    )


def test_jpf_record_holds_what_a_subscriber_saw_and_load_gives_it_back(
    tapped: Kernel, tmp_path: Path
) -> None:
    recording = tmp_path / "workload.jsonl"
    subscriber = Subscriber(tapped.manager._make_url("iopub"))
    monitor = Monitor(tapped.kernel_id).wait_until_connected(30)
    recorder = subprocess.Popen(
        jpf("record", tapped.kernel_id, "-o", str(recording)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert recorder.stderr is not None
        for line in recorder.stderr:  # until it says it records
            if line.startswith("recording kernel"):
                break
        else:
            pytest.fail(f"jpf record ended: {recorder.wait()}")
        subscriber.take()  # what was published before the recording started
        workload = tapped.run(WORKLOAD)
        failing = tapped.run("1/0")
        idle_after(monitor, failing)
        wait_until(lambda: failing in recording.read_text(), 30, "the recording to catch up")
        seen: list[str] = []
        # the workload's 10 iopub messages, the error's 4
        wait_until(lambda: seen.extend(subscriber.take()) or len(seen) >= 14, 30, "the subscriber")

        def recorded() -> set[str]:
            return {m.frames.header["msg_id"] for m in read(recording)[1]}

        wait_until(lambda: set(seen) <= recorded(), 30, "everything seen to be recorded")
        recorder.send_signal(signal.SIGINT)
        out, err = recorder.communicate(timeout=30)
    finally:
        if recorder.poll() is None:
            recorder.kill()
        subscriber.close()
    assert recorder.returncode == 0, err
    header, messages, malformed = read(recording)
    assert malformed == 0
    assert re.search(rf"recorded {len(messages)} messages \(.* bytes on the wire\)", out), out
    assert "lost 0" in out
    ids = [m.frames.header["msg_id"] for m in messages]
    assert set(seen) <= set(ids)
    assert len(ids) == len(set(ids))
    # the header: what was watched, how, and never the key
    assert header["version"] == 1
    assert header["kernel_id"] == tapped.kernel_id
    assert header["capture"] == "tap"
    assert header["kernel_info"]["implementation"] == "ipython"
    assert "key" not in header["connection"]
    key = bytes(tapped.manager.session.key).decode()
    assert key not in recording.read_text()
    types = Counter(m.frames.header["msg_type"] for m in messages)
    for kind in ("execute_request", "execute_reply", "stream", "display_data", "error"):
        assert types[kind] >= 1, kind
    for kind in ("update_display_data", "comm_open", "comm_msg", "comm_close"):
        assert types[kind] == 1, kind

    loaded = Monitor.load(recording)
    try:
        assert loaded.status == "replay"
        assert loaded.capture == "tap"
        assert loaded.kernel_id == tapped.kernel_id
        assert loaded.stats["malformed"] == 0
        assert [m.msg_id for m in loaded.messages] == ids
        assert loaded.stats["by_type"] == dict(types)
        sent = loaded.get(workload)
        assert sent is not None
        assert (sent.channel, sent.direction) == ("shell", "to_kernel")
        assert sent.client is not None
        for request in (workload, failing):
            # the live monitor and the recording saw the same thread
            assert [m.msg_id for m in loaded.thread(request)] == [
                m.msg_id for m in monitor.thread(request)
            ]
            assert all(
                same(a, b, timed=False)
                for a, b in zip(loaded.thread(request), monitor.thread(request), strict=True)
            )
        [comm_msg] = [m for m in loaded.messages if m.msg_type == "comm_msg"]
        assert [bytes(b) for b in comm_msg.buffers] == [b"\x00\x01\x02"]
        assert loaded.comm_messages(comm_msg.comm_id)[0].msg_type == "comm_open"
        error = next(m for m in loaded.thread(failing) if m.msg_type == "error")
        assert error.summary.startswith("ZeroDivisionError")
    finally:
        loaded.close()
        monitor.close()


def test_save_then_load_gives_back_the_same_messages_threads_and_counters(
    tapped: Kernel, tmp_path: Path
) -> None:
    with Monitor(tapped.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        workload = tapped.run(WORKLOAD)
        idle_after(monitor, workload)
        for name in ("trace.jsonl", "trace.jsonl.gz"):
            path = tmp_path / name
            written = monitor.save(path)
            # what the save took: the first messages (a probe may arrive while it writes)
            held = list(monitor.messages)[:written]
            saved = {m.msg_id for m in held}
            with Monitor.load(path) as loaded:
                again = list(loaded.messages)
                assert len(again) == written
                assert all(same(a, b) for a, b in zip(held, again, strict=True))
                assert [m.msg_id for m in loaded.thread(workload)] == [
                    m.msg_id for m in monitor.thread(workload) if m.msg_id in saved
                ]
                assert loaded.stats["captured"] == written
                assert loaded.stats["by_type"] == dict(Counter(m.msg_type for m in held))
                assert loaded.stats["by_channel"] == dict(Counter(m.channel for m in held))
                for counter in ("lost", "bad_signature", "restarts", "loss_detection"):
                    assert loaded.stats[counter] == monitor.stats[counter], counter
                assert loaded.kernel_info == monitor.kernel_info
                # the monitor's own probes are known as such in the replay too
                assert loaded.own_requests()
                assert loaded.own_requests() <= monitor.own_requests()
                markers = [e.kind for e in loaded._log.entries_after(-1) if isinstance(e, Marker)]
                assert markers[0] == "attached"
        with gzip.open(tmp_path / "trace.jsonl.gz") as compressed:
            assert compressed.readline().startswith(b'{"type":"header"')
        # a filter keeps what it says
        streams = monitor.save(tmp_path / "streams.jsonl", filter=lambda m: m.msg_type == "stream")
        _, kept, _ = read(tmp_path / "streams.jsonl")
        assert streams == len(kept) == 2
        assert {m.frames.header["msg_type"] for m in kept} == {"stream"}


# A flood of 1 KB comm messages, far more than the recording monitor's budget holds
_COMM_FLOOD = """
from comm import create_comm
comm = create_comm(target_name='jpf.flood')
for i in range(4000):
    comm.send({'i': i, 'pad': 'x' * 1000})
comm.close()
"""


def heard_by_both(kernel: Kernel, monitor: Monitor, subscriber: Subscriber) -> list[str]:
    """What the subscriber heard until it and the monitor both heard the end of one request
    sent after what came before. By then each has had every earlier message, or lost it: a
    starved machine can have the kernel drop a subscriber's messages, a flood's end among them."""
    seen: list[str] = []
    for _ in range(10):
        request = kernel.client.execute("pass")
        try:
            idle = idle_after(monitor, request, timeout=10)
        except TimeoutError:
            continue
        with contextlib.suppress(AssertionError):  # the subscriber lost it: once more
            end = idle.msg_id
            wait_until(lambda end=end: seen.extend(subscriber.take()) or end in seen, 10)
            return seen
    raise AssertionError("the monitor and the subscriber never both heard a request's end")


def test_monitor_record_writes_past_the_budget_what_a_subscriber_saw(
    start_kernel: Callable[..., Kernel], tmp_path: Path
) -> None:
    """Monitor.record writes every message as it comes: the file holds what an independent
    subscriber saw, though the monitor itself kept only a part of it (its 1 MB budget)."""
    # a kernel of its own: the flood fills its client's iopub queue, and the kernel then drops
    # that client's messages, those of the next test's requests too
    kernel = start_kernel()
    path = tmp_path / "flood.jsonl.gz"
    subscriber = Subscriber(kernel.manager._make_url("iopub"))
    try:
        with Monitor(kernel.kernel_id, budget=1 << 20) as monitor:
            monitor.wait_until_connected(30)
            heard_by_both(kernel, monitor, subscriber)  # the subscriber is connected, and drained
            recording = monitor.record(path)
            assert recording.active
            # sent without reading iopub: the test's client would fall behind the flood
            kernel.client.execute(_COMM_FLOOD)
            kernel.client.get_shell_msg(timeout=60)  # its reply: the flood is sent
            seen = heard_by_both(kernel, monitor, subscriber)
            assert monitor.stats["evicted"] > 0  # the monitor no longer holds them all
            assert recording.stop() is recording
            assert not recording.active
            assert recording.error is None
            stats = monitor.stats
    finally:
        subscriber.close()
    header, messages, malformed = read(path)
    assert malformed == 0
    assert header["kernel_id"] == kernel.kernel_id
    assert header["capture"] == "iopub"
    ids = [m.frames.header["msg_id"] for m in messages]
    assert len(ids) == len(set(ids)) == recording.written
    # Nothing missing; or, with the machine starved of CPU, no more than the monitor counted
    # as lost and as evicted before the recording could write it (both marked in the file)
    missing = set(seen) - set(ids)
    accounted = recording.not_written + recording.lost
    assert len(missing) <= accounted
    with gzip.open(path) as lines:
        records = [orjson.loads(line) for line in lines]
    marked = [r for r in records if r["type"] == "marker" and r["kind"] == "loss"]
    assert bool(marked) == (accounted > 0)
    assert records[-1]["type"] == "end"
    assert records[-1]["stats"]["not_written"] == recording.not_written
    assert records[-1]["stats"]["lost"] == stats["lost"]
    with Monitor.load(path, budget=1 << 30) as loaded:
        assert [m.msg_id for m in loaded.messages] == ids
        sends = [m.content["data"]["i"] for m in loaded.messages if m.msg_type == "comm_msg"]
        assert sends == sorted(sends)
        assert len(sends) + accounted >= 4000


def test_a_recording_marks_what_was_evicted_before_it_was_written(tmp_path: Path) -> None:
    log = MessageLog(budget=40_000)
    done = threading.Event()
    recording = Recording(log, tmp_path / "behind.jsonl", kernel_id="k", stop=done)
    log.add_many("iopub", [frames(n, "y" * 500) for n in range(200)])
    evicted = log.stats()["evicted"]
    assert evicted > 0
    done.set()
    recording.run()  # behind from the start: the log evicted the first ones already
    assert recording.not_written == evicted
    assert recording.written == 200 - evicted
    lines = [orjson.loads(line) for line in (tmp_path / "behind.jsonl").read_bytes().splitlines()]
    assert lines[1] == lines[1] | {"type": "marker", "kind": "loss"}
    assert lines[1]["text"] == f"{evicted} messages not written in time"
    assert [line["header"]["msg_id"] for line in lines[2:-1]] == [
        f"m-{n}" for n in range(evicted, 200)
    ]
    assert lines[-1]["stats"]["not_written"] == evicted


def test_a_recording_that_has_caught_up_leaves_capture_alone(tmp_path: Path) -> None:
    """A recording waits for more by polling, never on the log's condition: capture notifies
    it on every batch, and a waiter there would be woken, and take the interpreter, each time."""
    log = MessageLog()
    recording = Recording(log, tmp_path / "paced.jsonl", kernel_id="k").start()
    try:
        for n in range(20):
            log.add_many("iopub", [frames(n)])
            wait_until(lambda n=n: recording.written == n + 1, 10, f"message {n} written")
            # between batches, as the recording waits for the next one
            watched_until = time.monotonic() + 0.05
            while time.monotonic() < watched_until:
                assert not log._lock._waiters, "the recording waits on the log's condition"
    finally:
        recording.stop()
    assert not recording.active
    assert [m.frames.header["msg_id"] for m in read(tmp_path / "paced.jsonl")[1]] == [
        f"m-{n}" for n in range(20)
    ]


def test_monitor_record_ends_at_a_count_a_duration_or_close_and_says_why_it_cannot(
    kernel: Kernel, tmp_path: Path
) -> None:
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        streams = monitor.record(
            tmp_path / "two.jsonl", filter=lambda m: m.msg_type == "stream", count=2
        )
        timed = monitor.record(tmp_path / "timed.jsonl", duration=0.5)
        open_ended = monitor.record(tmp_path / "open.jsonl")
        idle_after(monitor, kernel.run("for i in range(5): print(i, flush=True)"))
        assert streams.wait(30)
        assert streams.written == 2
        assert {m.frames.header["msg_type"] for m in read(tmp_path / "two.jsonl")[1]} == {"stream"}
        assert timed.wait(30)
        assert open_ended.active
        with pytest.raises(FileNotFoundError):
            monitor.record(tmp_path / "no such directory" / "x.jsonl")
        assert monitor.status == "connected"  # a recording that could not start harms nothing
    assert not open_ended.active  # closing the monitor ended it, and wrote its end
    assert orjson.loads((tmp_path / "open.jsonl").read_bytes().splitlines()[-1])["type"] == "end"
    assert len(read(tmp_path / "open.jsonl")[1]) >= 5
    with pytest.raises(RuntimeError, match="closed"):
        monitor.record(tmp_path / "late.jsonl")
    with Monitor.load(tmp_path / "open.jsonl") as loaded, pytest.raises(RuntimeError, match="save"):
        loaded.record(tmp_path / "again.jsonl")
    with Monitor() as unattached, pytest.raises(RuntimeError, match="attach"):
        unattached.record(tmp_path / "nothing.jsonl")


def test_a_thread_as_a_mermaid_diagram(tapped: Kernel) -> None:
    with Monitor(tapped.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        request = tapped.run("print('hello'); 1/0")
        idle_after(monitor, request)
        monitor.wait_for(lambda m: m.msg_type == "execute_reply" and m.parent_id == request, 30)
        text = monitor.diagram(request)
        assert text.startswith("```mermaid\n")
        assert text.endswith("```\n")
        lines = well_formed(text.removeprefix("```mermaid\n").removesuffix("```\n"))
        client = monitor.get(request).client  # type: ignore[union-attr]
        assert f"    participant C1 as client {client}" in lines
        arrows = [line for line in lines if "->>" in line or "-->>" in line or "-)" in line]
        assert arrows[0] == "    C1->>K: execute_request code: print('hello')#59; 1/0"
        assert "    K-)IO: status busy" in arrows
        assert "    K-)IO: stream stdout: hello" in arrows
        assert "    K-)IO: error ZeroDivisionError: division by zero" in arrows
        assert "    K-->>C1: execute_reply error [1]" in arrows
        # cut at the limit, and said so
        cut = well_formed(monitor.diagram(request, limit=2).split("\n", 1)[1].removesuffix("```\n"))
        assert len([line for line in cut if "K-" in line or "->>" in line]) == 3
        assert cut[-1].startswith("    Note over K: … ")
        assert "more messages not shown (limit 2)" in cut[-1]
        # the messages held, newest last
        whole = well_formed(monitor.diagram().split("\n", 1)[1].removesuffix("```\n"))
        assert "    K-)IO: status idle" in whole
        assert any(line.startswith("    Note over K: attached: ") for line in whole)
        # the monitor's own probe through the tap: from "this monitor", not a client
        assert "    participant M as this monitor" in whole
        assert any(line.startswith("    M->>K: kernel_info_request") for line in whole) or any(
            line.startswith("    K-->>M: kernel_info_reply") for line in whole
        )
        # a thread of a request that was not held
        assert "no message of thread nope is held" in monitor.diagram("nope")


def test_an_untapped_thread_draws_the_request_it_never_saw(kernel: Kernel) -> None:
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        request = kernel.run("print(1)")
        idle_after(monitor, request)
        lines = well_formed(monitor.diagram(request).split("\n", 1)[1].removesuffix("```\n"))
        assert "    C0->>K: execute_request (not captured)" in lines
        assert "    participant C0 as Client" in lines


# -- damaged files ----------------------------------------------------------------------------


def frames(n: int, text: str = "x", parent: bytes = b"{}") -> Any:
    header = orjson.dumps(
        {
            "msg_id": f"m-{n}",
            "msg_type": "stream",
            "session": "s",
            "username": "u",
            "version": "5.3",
        }
    )
    content = orjson.dumps({"name": "stdout", "text": f"{text} {n}\n"})
    return split_frames([DELIMITER, b"", header, parent, b"{}", content])


def write_trace(path: Path, count: int, start: float = 1_700_000_000.0) -> None:
    with TraceWriter(path, kernel_id="k", capture="iopub", started=start) as writer:
        writer.write_records(
            new_record(n, "iopub", start + n / 1000, frames(n)) for n in range(count)
        )


def test_damaged_lines_are_counted_and_skipped_never_raised(tmp_path: Path) -> None:
    path = tmp_path / "damaged.jsonl"
    write_trace(path, 10)
    lines = path.read_bytes().splitlines(keepends=True)
    good = orjson.loads(lines[3])
    no_header = {k: v for k, v in good.items() if k != "header"}
    no_msg_id = good | {"header": {"msg_type": "stream"}}
    bad_time = good | {"t": "yesterday"}
    # times no capture could have, for which no ISO time could be written again
    never = [good | {"t": 1e22}, good | {"t": -5e15}]
    never.append({"type": "marker", "kind": "restart", "text": "", "t": 1e300, "ns": 0})
    damaged = [
        *lines[:3],
        b"this is not JSON\n",
        orjson.dumps(no_header) + b"\n",
        orjson.dumps(no_msg_id) + b"\n",
        orjson.dumps(bad_time) + b"\n",
        *(orjson.dumps(value) + b"\n" for value in never),
        b"[1, 2, 3]\n",
        b"\n",  # an empty line is no record, and no damage either
        *lines[3:],
        lines[4][: len(lines[4]) // 2],  # the last line, cut short by a crash
    ]
    path.write_bytes(b"".join(damaged))
    with TraceReader(path) as reader:
        items = list(reader)
    assert reader.malformed == 9
    assert len([i for i in items if isinstance(i, RecordedMessage)]) == 10
    with Monitor.load(path) as loaded:
        assert loaded.stats["malformed"] == 9
        assert [m.msg_id for m in loaded.messages] == [f"m-{n}" for n in range(10)]
        assert "9 malformed lines skipped" in loaded.status_detail
        assert loaded.save(tmp_path / "saved again.jsonl") == 10


def test_a_cut_gzip_stream_counts_as_damage(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    write_trace(path, 20_000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with TraceReader(path) as reader:
        messages = list(reader.messages())
    assert 0 < len(messages) < 20_000
    assert reader.malformed >= 1
    with Monitor.load(path) as loaded:
        assert loaded.stats["malformed"] >= 1
        assert len(loaded.messages) == len(messages)


def test_files_that_are_no_traces_are_refused_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(TraceError, match="is empty"):
        Monitor.load(empty)
    other = tmp_path / "notebook.ipynb"
    other.write_text('{"cells": []}\n')
    with pytest.raises(TraceError, match="not a jpf trace"):
        TraceReader(other)
    newer = tmp_path / "newer.jsonl"
    newer.write_bytes(orjson.dumps({"type": "header", "format": "jpf-trace", "version": 99}))
    with pytest.raises(TraceError, match="version 99"):
        TraceReader(newer)
    with pytest.raises(FileNotFoundError):
        Monitor.load(tmp_path / "missing.jsonl")
    # a damaged header: the records after it are still read
    headless = tmp_path / "headless.jsonl"
    write_trace(headless, 3)
    headless.write_bytes(b"".join(headless.read_bytes().splitlines(keepends=True)[1:]))
    with Monitor.load(headless) as loaded:
        assert len(loaded.messages) == 3
        assert loaded.stats["malformed"] == 1


def test_what_is_written_is_json_whatever_the_frames_hold(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    header = orjson.dumps({"msg_id": "odd", "msg_type": "odd", "session": "s"})
    pretty = b'{\n  "indented": [1,\n 2]\n}'
    odd = split_frames([DELIMITER, b"", header, b"", b"not json", pretty, b"\xff\x00"])
    with TraceWriter(path) as writer:
        writer.write_records([new_record(0, "iopub", 1.5, odd)])
    [message] = read(path)[1]
    assert message.frames.parent_header == {}
    assert orjson.loads(message.frames.metadata_bytes) == {"_jpf_unparsed": "not json"}
    assert orjson.loads(message.frames.content_bytes) == {"indented": [1, 2]}
    assert message.frames.buffers == (b"\xff\x00",)
    assert message.received == 1.5


def test_a_stream_of_entries_makes_a_bounded_diagram() -> None:
    records = (new_record(n, "iopub", 0.0, frames(n, "a;b#c<d>")) for n in range(10_000))
    lines = well_formed(sequence_diagram(map(make_message, records), limit=50))
    assert len(lines) == 1 + 2 + 50 + 1  # no client: Kernel and IOPub only
    assert lines[-1] == "    Note over K: … 9950 more messages not shown (limit 50)"
    assert "    K-)IO: stream stdout: a#59;b#35;c#60;d#62; 0" in lines


# -- a million messages ------------------------------------------------------------------------

MILLION = 1_000_000
_LOAD_AND_MEASURE = """
import resource, sys
from jpf_widget import Monitor
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
monitor = Monitor.load(sys.argv[1], budget=32 * 1024 * 1024)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stats = monitor.stats
print(before, after, stats["captured"], stats["held"], stats["evicted"], stats["malformed"])
print(monitor.messages[-1].msg_id)
monitor.close()
"""


def test_a_million_messages_load_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "million.jsonl"
    parent = orjson.dumps({"msg_id": "flood", "msg_type": "execute_request", "session": "c"})
    first = new_record(0, "iopub", 1e9, frames(0, parent=parent))

    def record(n: int) -> Any:  # the first one's, with its own msg_id, content and time
        header = b'{"msg_id":"m-%d","msg_type":"stream","session":"s"}' % n
        content = b'{"name":"stdout","text":"x %d\\n"}' % n
        return (
            n,
            "iopub",
            1e9 + n / 1e5,
            f"m-{n}",
            *first[4:9],
            header,
            parent,
            b"{}",
            content,
            *first[13:],
        )

    with TraceWriter(path, kernel_id="k", capture="iopub") as writer:
        writer.write_records(map(record, range(MILLION)))
    assert path.stat().st_size > 250 * 1024 * 1024  # far more than the budget below
    run = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=150,
        check=True,
    )
    numbers, last = run.stdout.splitlines()
    before, after, captured, held, evicted, malformed = map(int, numbers.split())
    assert (captured, malformed) == (MILLION, 0)
    assert evicted > 0
    assert held + evicted == MILLION
    assert last == f"m-{MILLION - 1}"
    growth_mb = (after - before) / 1024  # ru_maxrss is in KiB
    assert growth_mb < 160, f"peak RSS grew by {growth_mb:.0f} MB loading a 32 MB budget"
