"""Faults and bad input: the monitor keeps going, counts what it refuses, and says why.

Real kernels where a real kernel can misbehave in the way needed; where it cannot (malformed
frames, replays, odd dialects), a stand-in kernel: real ZMQ sockets bound on the ports of a
connection file this test writes, sending frames made by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_client import KernelManager
from jupyter_client.session import Session

from jpf_widget import Monitor
from jpf_widget.backends import ZmqBackend
from jpf_widget.backends.zmq import IOPUB
from jpf_widget.kernels import ConnectionInfo
from jpf_widget.log import MessageLog
from jpf_widget.rows import encode_bodies
from jpf_widget.wire import DELIMITER

from .conftest import Kernel, wait_until
from .test_capture import idle_of

KEY = b"stand-in-kernel-key"


class StandInKernel:
    """Real sockets on a connection file's ports: iopub PUB, a heartbeat that echoes, a shell
    that never answers. ``publish`` sends any frames on iopub."""

    def __init__(self, folder: Path, key: bytes = KEY) -> None:
        self.context: zmq.Context[Any] = zmq.Context()
        self.iopub = self.context.socket(zmq.PUB)
        self.iopub.setsockopt(zmq.SNDHWM, 0)
        self.shell = self.context.socket(zmq.ROUTER)
        self.hb = self.context.socket(zmq.REP)
        ports = {
            name: sock.bind_to_random_port("tcp://127.0.0.1")
            for name, sock in (
                ("iopub_port", self.iopub),
                ("shell_port", self.shell),
                ("hb_port", self.hb),
            )
        }
        self.kernel_id = str(uuid.uuid4())
        self.path = folder / f"kernel-{self.kernel_id}.json"
        self.path.write_text(
            json.dumps(
                {
                    **ports,
                    "stdin_port": 0,
                    "control_port": 0,
                    "ip": "127.0.0.1",
                    "key": key.decode(),
                    "transport": "tcp",
                    "signature_scheme": "hmac-sha256",
                }
            )
        )
        self.session = Session(key=key)
        self._stop = threading.Event()
        self._echo = threading.Thread(target=self._heartbeat, daemon=True)
        self._echo.start()

    def _heartbeat(self) -> None:
        while not self._stop.is_set():
            if self.hb.poll(50):
                self.hb.send(self.hb.recv())

    def publish(self, frames: list[bytes]) -> None:
        self.iopub.send_multipart(frames)

    def signed(
        self, msg_type: str, content: dict[str, Any], header: dict[str, Any] | None = None
    ) -> list[bytes]:
        message = self.session.msg(msg_type, content=content)
        if header is not None:
            message["header"] = header
        return [bytes(part) for part in self.session.serialize(message)]

    def subscribed(self, monitor: Monitor) -> None:
        """Publish markers until the monitor's SUB socket hears one (it connects lazily)."""

        def heard() -> bool:
            self.publish(self.signed("status", {"execution_state": "starting"}))
            return monitor.stats["captured"] > 0

        wait_until(heard, 10, "the monitor to subscribe")

    def close(self) -> None:
        self._stop.set()
        self._echo.join()
        self.context.destroy(linger=0)


@pytest.fixture
def stand_in(runtime_dir: Path) -> Iterator[StandInKernel]:
    kernel = StandInKernel(runtime_dir)
    yield kernel
    kernel.close()


def test_bad_frames_are_counted_and_capture_goes_on(stand_in: StandInKernel) -> None:
    with Monitor(stand_in.kernel_id) as monitor:
        stand_in.subscribed(monitor)
        base = monitor.stats
        good = stand_in.signed("stream", {"name": "stdout", "text": "fine"})
        start = good.index(DELIMITER)
        tampered = list(good)
        tampered[start + 5] = b'{"name": "stdout", "text": "tampered"}'
        malformed = [
            [b"no delimiter", b"{}"],
            [DELIMITER, b"sig", b"{}"],
            [DELIMITER, b"", b"{not json", b"{}", b"{}", b"{}"],
            [DELIMITER, b"", b"\xff\xfe\x00", b"{}", b"{}", b"{}"],
        ]
        for frames in malformed:
            stand_in.publish(frames)
        stand_in.publish(tampered)
        stand_in.publish(good)
        stand_in.publish(good)  # a replay: same frames, same good signature
        huge = stand_in.signed("stream", {"name": "stdout", "text": "x" * 100_000_000})
        stand_in.publish(huge)
        many = stand_in.signed("comm_msg", {"comm_id": "c", "data": {}}) + [b"b"] * 1000
        stand_in.publish(many)
        stand_in.publish(stand_in.signed("stream", {"name": "stdout", "text": "after"}))
        monitor.wait_for(lambda m: m.msg_type == "stream" and m.content["text"] == "after", 30)
        stats = monitor.stats
        assert stats["malformed"] - base["malformed"] == len(malformed)
        assert stats["bad_signature"] - base["bad_signature"] == 2  # tampered + replay
        assert stats["replayed"] == 1
        texts = [m.content.get("text", "")[:8] for m in monitor.messages if m.msg_type == "stream"]
        assert texts == ["fine", "x" * 8, "after"]
        comm = monitor.wait_for("comm_msg", 1)
        assert len(comm.buffers) == 1000
        big = monitor.wait_for(lambda m: m.size > 100_000_000, 1)
        assert big.content_size > 100_000_000


def test_odd_but_legal_dialects_are_kept(stand_in: StandInKernel) -> None:
    with Monitor(stand_in.kernel_id) as monitor:
        stand_in.subscribed(monitor)
        minimal = {"msg_id": uuid.uuid4().hex, "msg_type": "stream"}  # 5.0: no date, no version
        stand_in.publish(stand_in.signed("stream", {"name": "stdout", "text": "old"}, minimal))
        welcome = stand_in.signed("iopub_welcome", {"subscription": ""})
        welcome[welcome.index(DELIMITER) + 3] = b"null"  # a null parent_header
        welcome = resign(welcome)
        stand_in.publish(welcome)
        custom = [*stand_in.signed("my_custom_event", {"anything": [1, 2, 3]}), b"\x00\x01"]
        stand_in.publish(custom)
        odd = stand_in.signed("error", {"ename": 42, "evalue": None, "traceback": "not a list"})
        stand_in.publish(odd)
        error = monitor.wait_for("error", 10)
        assert (error.ename, error.evalue, error.traceback) == ("42", "None", [])  # type: ignore[attr-defined]
        assert monitor.wait_for("stream", 1).content["text"] == "old"
        assert monitor.wait_for("iopub_welcome", 1).parent_header == {}
        custom_message = monitor.wait_for("my_custom_event", 1)
        assert custom_message.content == {"anything": [1, 2, 3]}
        assert custom_message.buffers == (b"\x00\x01",)
        assert monitor.stats["malformed"] == 0
        # the stand-in's msg_ids are uuids with no counter in them
        assert monitor.stats["loss_detection"] == "not available for this kernel"
        assert monitor.stats["lost"] == 0


def resign(frames: list[bytes]) -> list[bytes]:
    start = frames.index(DELIMITER)
    signature = Session(key=KEY).sign(frames[start + 2 : start + 6])
    return [*frames[: start + 1], signature, *frames[start + 2 :]]


def test_wrong_key_says_signature_mismatch(kernel: Kernel, tmp_path: Path) -> None:
    info = json.loads(Path(kernel.connection_file).read_text())
    wrong = tmp_path / "kernel-wrong-key.json"
    wrong.write_text(json.dumps({**info, "key": "not-the-key"}))
    with Monitor(str(wrong)) as monitor:
        monitor.wait_until_connected(15)  # the heartbeat is unsigned: it answers
        request = kernel.run("print('signed with the real key')")
        wait_until(lambda: "signature mismatch" in monitor.status_detail, 15, "the mismatch")
        assert monitor.status_detail == "signature mismatch: wrong connection file or key?"
        assert monitor.stats["bad_signature"] >= 3
        assert monitor.thread(request) == []
        assert monitor.kernel_info is None


def test_empty_key_unsigned_kernel(runtime_dir: Path) -> None:
    kernel = StandInKernel(runtime_dir, key=b"")
    try:
        with Monitor(kernel.kernel_id) as monitor:
            kernel.subscribed(monitor)
            kernel.publish(kernel.signed("stream", {"name": "stdout", "text": "unsigned"}))
            assert monitor.wait_for("stream", 10).content["text"] == "unsigned"
            assert monitor.stats["bad_signature"] == 0
    finally:
        kernel.close()


def test_shutdown_is_dead_with_reason(
    start_kernel: Callable[..., Kernel],
) -> None:
    target = start_kernel()
    with Monitor(target.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        target.manager.shutdown_kernel(now=False)
        assert not Path(target.connection_file).exists()
        wait_until(lambda: monitor.status == "dead", 10, "dead")
        assert "the kernel was shut down" in monitor.status_detail


def test_restart_on_new_ports_is_followed(runtime_dir: Path) -> None:
    kernel_id = str(uuid.uuid4())
    path = runtime_dir / f"kernel-{kernel_id}.json"
    first = KernelManager(kernel_name="python3", connection_file=str(path))
    first.start_kernel()
    second: KernelManager | None = None
    try:
        with Monitor(kernel_id) as monitor:
            monitor.wait_until_connected(30)
            monitor.wait_for("kernel_info_reply", 30)
            old_port = monitor.connection["iopub_port"]
            first.shutdown_kernel(now=True)
            wait_until(lambda: monitor.status == "dead", 15, "dead")
            second = KernelManager(kernel_name="python3", connection_file=str(path))
            second.start_kernel()  # same file, new random ports, new key
            wait_until(lambda: monitor.status == "connected", 30, "connected on the new ports")
            assert monitor.connection["iopub_port"] != old_port
            assert monitor.stats["restarts"] == 1
            client = second.blocking_client()
            client.start_channels()
            client.wait_for_ready(timeout=30)
            request = client.execute("print('on new ports')")
            monitor.wait_for(idle_of(request), 15)
            assert any(m.msg_type == "stream" for m in monitor.thread(request))
            client.stop_channels()
    finally:
        for manager in (first, second):
            if manager is not None and manager.has_kernel:
                manager.shutdown_kernel(now=True)


SELF_WATCH = """
import time
from ipykernel import get_connection_file
from jpf_widget import Monitor
m = Monitor(get_connection_file())
m.wait_until_connected(15)
m.view = "raw"          # a trait change: a comm message on this very kernel's iopub
deadline = time.monotonic() + 10
while m.stats["own_view_traffic"] == 0 and time.monotonic() < deadline:
    time.sleep(0.02)    # until the capture has seen (and not recorded) that message
before = m.stats["captured"]
time.sleep(1.5)         # nothing else happens: the count must stay flat
print(before, m.stats["captured"], m.stats["own_view_traffic"], flush=True)
m.close()
"""


def test_watching_its_own_kernel_makes_no_feedback_loop(kernel: Kernel) -> None:
    outputs: list[str] = []

    def keep(message: dict[str, Any]) -> None:
        if message["msg_type"] == "stream":
            outputs.append(message["content"]["text"])
        if message["msg_type"] == "error":
            outputs.append("\n".join(message["content"]["traceback"]))

    kernel.client.execute_interactive(SELF_WATCH, timeout=60, output_hook=keep)
    before, after, own = map(int, "".join(outputs).split())
    assert before == after
    assert own > 0  # its own widget's updates were seen, and left out


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_hundred_monitors_leak_nothing(kernel: Kernel) -> None:
    warm = Monitor(kernel.kernel_id)
    warm.wait_until_connected(15)
    warm.close()
    threads, fds = threading.active_count(), open_fds()
    for _ in range(100):
        monitor = Monitor(kernel.kernel_id)
        monitor.wait_until_connected(15)
        monitor.close()
    assert threading.active_count() == threads
    assert open_fds() - fds < 5  # one leaked socket per monitor would show as 100+


# Attaches (and records to argv[2], when given), waits for the target's big messages (checking
# them starts a second hashing thread) and ends without closing the Monitor or stopping the
# recording; prints the size of the last one.
_EXITING_SCRIPT = """
import sys
from jpf_widget import Monitor

m = Monitor(sys.argv[1])
m.wait_until_connected(15)
if sys.argv[2:]:
    m.record(sys.argv[2])
print(m.status, flush=True)
last = m.wait_for(lambda msg: msg.msg_type == "display_data" and msg.content["metadata"], 30)
print(len(last.content["data"]["text/plain"]), flush=True)
"""


@pytest.mark.parametrize("recording", [False, True])
def test_a_monitor_never_holds_up_the_process_it_runs_in(
    start_kernel: Callable[..., Kernel], tmp_path: Path, recording: bool
) -> None:
    """A Monitor's threads and sockets never hold up the process it runs in: a script that
    attached, took big messages and ends without closing its Monitor exits by itself, code 0.
    A recording it left running is ended at the exit with all it was given and its last line.

    A plain interpreter rather than a kernel: ipykernel 7.4's own shutdown can stall, with or
    without a Monitor (its control thread's last flush waits for an iopub thread already
    stopped: 13 of 30 bare kernels took 10 s to exit on 2 cores, one hung past 30 s), which
    would hide what this test is about."""
    target = start_kernel()
    trace = tmp_path / "exit.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-c", _EXITING_SCRIPT, target.connection_file]
        + ([str(trace)] if recording else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "connected"
        target.run(
            "from IPython.display import publish_display_data\n"
            "for i in range(4):\n"
            "    last = {'last': True} if i == 3 else {}\n"
            "    publish_display_data({'text/plain': 'x' * 1_000_000}, last)"
        )
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.strip() == "1000000"
    if recording:
        lines = [orjson.loads(line) for line in trace.read_bytes().splitlines()]
        shown = [r for r in lines if r.get("header", {}).get("msg_type") == "display_data"]
        assert len(shown) == 4
        assert lines[-1]["type"] == "end"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.binary(max_size=64), max_size=9),
    st.integers(min_value=0, max_value=8),
    st.binary(max_size=16),
)
def test_fuzzed_frames_never_escape_and_are_all_counted(
    parts: list[bytes], at: int, junk: bytes
) -> None:
    session = Session(key=KEY)
    real = [bytes(p) for p in session.serialize(session.msg("stream", content={"text": "t"}))]
    mutated = list(real)
    mutated[min(at, len(mutated) - 1)] = junk
    log = MessageLog()
    batch = [m for m in (parts, [DELIMITER, *parts], mutated, real) if m]  # 0 frames: no message
    drained(log, batch)
    stats = log.stats()
    assert stats["captured"] + stats["malformed"] + stats["bad_signature"] == len(batch)
    assert any(m.content == {"text": "t"} for m in log.messages())


def drained(log: MessageLog, messages: list[list[bytes]]) -> set[str]:
    """Put ``messages`` through a capture's ingest path (never started: no kernel, just its
    drain of a socket), over an inproc pair of sockets; the names of the threads there were
    before the capture closed."""
    info = ConnectionInfo("tcp", "127.0.0.1", 1, 2, 3, 4, 5, "hmac-sha256", KEY)
    capture = ZmqBackend(info, log)
    context = zmq.Context.instance()
    name = f"inproc://drain-{uuid.uuid4()}"
    with context.socket(zmq.PAIR) as sender, context.socket(zmq.PAIR) as receiver:
        receiver.bind(name)
        sender.connect(name)
        for message in messages:
            sender.send_multipart(message)
        taken = 0
        # a full batch is recorded by the next drain, which need not wait for more to come
        while taken < len(messages) and (capture._pending is not None or receiver.poll(5000)):
            before = log.stats()
            capture._drain(receiver, IOPUB)
            after = log.stats()
            taken += sum(after[k] - before[k] for k in ("captured", "malformed", "bad_signature"))
    threads = {t.name for t in threading.enumerate()}
    capture.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("jpf-hash")]
    return threads


def test_backlogs_are_checked_a_batch_ahead_in_order_and_bad_ones_still_counted() -> None:
    # a full batch (256) is checked on the second thread while the one before is recorded;
    # forged messages sit on both sides of batch boundaries
    session = Session(key=KEY)
    forged = Session(key=b"not-the-key")
    bad = {0, 255, 256, 511, 512, 700}
    messages = [
        [
            bytes(p)
            for p in (forged if i in bad else session).serialize(
                session.msg("stream", content={"name": "stdout", "text": str(i)})
            )
        ]
        for i in range(768 + 40)
    ]
    log = MessageLog()
    threads = drained(log, messages)
    assert any(name.startswith("jpf-hash") for name in threads)
    stats = log.stats()
    assert stats["bad_signature"] == len(bad)
    assert [m.text for m in log.messages()] == [str(i) for i in range(808) if i not in bad]


def test_big_messages_are_checked_two_at_a_time_and_bad_ones_still_counted() -> None:
    # content of 256 KB or more is hashed half on a second thread; order and counts must hold
    session = Session(key=KEY)
    forged = Session(key=b"not-the-key")
    messages = []
    for i in range(12):
        signer = forged if i in (3, 8) else session
        pad = "x" * (300_000 if i % 3 else 10)
        message = signer.msg("stream", content={"name": "stdout", "text": f"{i} {pad}"})
        buffers = [b"\x01" * 300_000] if i == 1 else []  # buffers follow the signed parts
        messages.append([bytes(p) for p in signer.serialize(message)] + buffers)
    log = MessageLog()
    threads = drained(log, messages)
    assert any(name.startswith("jpf-hash") for name in threads)
    stats = log.stats()
    assert stats["bad_signature"] == 2
    assert stats["captured"] == 10
    assert [m.text.split()[0] for m in log.messages()] == [
        str(i) for i in range(12) if i not in (3, 8)
    ]
    (buffer,) = log.messages()[1].buffers  # kept as a view of the frame, which nobody may change
    assert isinstance(buffer, memoryview)
    assert buffer.readonly
    assert buffer == b"\x01" * 300_000


def test_deep_and_huge_contents_stay_readable(stand_in: StandInKernel) -> None:
    with Monitor(stand_in.kernel_id) as monitor:
        stand_in.subscribed(monitor)
        deep = b'{"data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
        frames = stand_in.signed("display_data", {"data": {}})
        frames[frames.index(DELIMITER) + 5] = deep
        stand_in.publish(resign(frames))
        message = monitor.wait_for("display_data", 10)
        assert "_jpf_unparsed" in message.content  # deeper than JSON parsers go: kept as text
        assert message.summary
        assert orjson.dumps(message.to_dict())
        # deep enough to parse, too deep for orjson to write back: sent to the view as text
        medium = b'{"data": ' + b"[" * 300 + b"]" * 300 + b"}"
        frames = stand_in.signed("display_data", {"data": {}})
        frames[frames.index(DELIMITER) + 5] = medium
        stand_in.publish(resign(frames))
        nested = monitor.wait_for(lambda m: m.content_size == len(medium), 10)
        plain = monitor.wait_for(lambda m: m.msg_type == "status", 1)
        bodies = orjson.loads(encode_bodies([nested, plain, message]))
        assert bodies[0]["content"]["_jpf_unparsed"] == medium.decode()
        assert bodies[1]["content"] == {"execution_state": "starting"}
        assert len(bodies) == 3


def test_a_backlog_of_exactly_one_batch_is_recorded_with_nothing_after_it(
    stand_in: StandInKernel,
) -> None:
    # A full batch (256) is checked on the second thread and recorded on the capture loop's
    # next pass. When nothing more arrives, that pass must still come, at once.
    with Monitor(stand_in.kernel_id) as monitor:
        stand_in.subscribed(monitor)
        capture = monitor._backend
        assert isinstance(capture, ZmqBackend)
        witness = stand_in.context.socket(zmq.SUB)  # hears what the monitor's socket hears
        witness.setsockopt(zmq.SUBSCRIBE, b"")
        witness.connect(stand_in.iopub.getsockopt(zmq.LAST_ENDPOINT).decode())
        fences = 0

        def fenced() -> bool:  # publish until the witness hears one
            nonlocal fences
            stand_in.publish(stand_in.signed("stream", {"name": "stdout", "text": "fence"}))
            fences += 1
            return witness.poll(50)

        def fences_recorded() -> int:
            return sum(1 for m in monitor.messages if m.content.get("text") == "fence")

        wait_until(fenced, 10, "the witness to subscribe")
        wait_until(lambda: fences_recorded() == fences, 10, "the monitor to record every fence")
        before = monitor.stats["captured"]
        with monitor._log._lock:  # the capture thread stops in its next record...
            stand_in.publish(stand_in.signed("stream", {"name": "stdout", "text": "blocker"}))
            wait_until(lambda: in_function(capture._thread, "add_many"), 10, "capture to wait")
            while b'"blocker"' not in witness.recv_multipart()[-1]:
                pass  # the fences
            for i in range(256):  # ...while exactly one batch queues up behind it
                stand_in.publish(stand_in.signed("stream", {"name": "stdout", "text": str(i)}))
            for _ in range(256):
                assert witness.poll(10_000), "the stand-in's messages never arrived"
                witness.recv_multipart()
        witness.close(linger=0)
        wait_until(lambda: monitor.stats["captured"] == before + 257, 10, "all 257 recorded")
        names = {t.name for t in threading.enumerate()}
        assert any(name.startswith("jpf-hash") for name in names), "not taken as one batch"
        texts = [m.text for m in monitor.messages[-256:]]
        assert texts == [str(i) for i in range(256)]


def in_function(thread: threading.Thread, name: str) -> bool:
    """Whether ``thread`` is running ``name`` right now."""
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == name:
            return True
        frame = frame.f_back
    return False
