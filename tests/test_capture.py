"""Capture against real ipykernels: what a kernel says is recorded exactly, typed and threaded."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import zmq

from jpf_widget import (
    CommClose,
    CommMsg,
    CommOpen,
    DisplayData,
    Error,
    ExecuteInput,
    ExecuteResult,
    KernelInfoReply,
    KernelNotFoundError,
    Monitor,
    Status,
    Stream,
    UpdateDisplayData,
    resolve_target,
)
from jpf_widget.backends.loss import LossDetector
from jpf_widget.wire import DELIMITER

from .conftest import Kernel, wait_until


def idle_of(request_id: str) -> Callable[[object], bool]:
    def match(message: object) -> bool:
        return (
            isinstance(message, Status)
            and message.parent_id == request_id
            and message.execution_state == "idle"
        )

    return match


@pytest.mark.parametrize("how", ["id", "prefix", "path", "file name"])
def test_attaches_by_id_prefix_and_path(kernel: Kernel, how: str) -> None:
    target = {
        "id": kernel.kernel_id,
        "prefix": kernel.kernel_id[:8],
        "path": kernel.connection_file,
        "file name": Path(kernel.connection_file).name,
    }[how]
    with Monitor(target) as monitor:
        monitor.wait_until_connected(15)
        assert monitor.status == "connected"
        assert monitor.kernel_id == kernel.kernel_id
        wait_until(lambda: monitor.kernel_info is not None, 10, "kernel_info")
        assert monitor.kernel_info["implementation"] == "ipython"
        assert monitor.kernel_info["language_info"]["name"] == "python"
        reply = monitor.wait_for("kernel_info_reply", timeout=5)
        assert isinstance(reply, KernelInfoReply)
        assert reply.channel == "shell"
    assert monitor.status == "closed"


WORKLOAD = """
from IPython.display import display, clear_output
from comm import create_comm
print("hello from the target", flush=True)
display({"text/html": "<b>bold</b>", "text/plain": "bold"}, raw=True)
handle = display({"text/plain": "first"}, raw=True, display_id=True)
handle.update({"text/plain": "second"}, raw=True)
c = create_comm(target_name="jpf.test", data={"opened": 1})
c.send({"value": 42})
c.close()
clear_output(wait=True)
41 + 1
"""


def test_records_a_real_session_typed_and_threaded(kernel: Kernel) -> None:
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        request = kernel.run(WORKLOAD)
        monitor.wait_for(idle_of(request), timeout=15)
        thread = monitor.thread(request)
        assert monitor.thread(request, limit=2) == thread[-2:]
        types = [m.msg_type for m in thread]
        assert types[0] == "status"
        assert types[1] == "execute_input"
        assert types[-1] == "status"
        expected_order = [
            "stream",
            "display_data",
            "display_data",
            "update_display_data",
            "comm_open",
            "comm_msg",
            "comm_close",
            "clear_output",
            "execute_result",
        ]
        assert [t for t in types if t in expected_order] == expected_order
        by_type = {type(m): m for m in thread}
        assert by_type[Status].execution_state == "idle"
        code = by_type[ExecuteInput]
        assert isinstance(code, ExecuteInput)
        assert "hello from the target" in code.code
        stream = by_type[Stream]
        assert isinstance(stream, Stream)
        assert (stream.name, stream.text) == ("stdout", "hello from the target\n")
        displays = [m for m in thread if type(m) is DisplayData]
        assert displays[0].data["text/html"] == "<b>bold</b>"
        assert displays[0].mime_types == ["text/html", "text/plain"]
        update = by_type[UpdateDisplayData]
        assert isinstance(update, UpdateDisplayData)
        assert update.display_id == displays[1].display_id != ""
        result = by_type[ExecuteResult]
        assert isinstance(result, ExecuteResult)
        assert result.data["text/plain"] == "42"
        opened = by_type[CommOpen]
        assert isinstance(opened, CommOpen)
        assert opened.target_name == "jpf.test"
        comm = monitor.comm_messages(opened.comm_id)
        assert [type(m) for m in comm] == [CommOpen, CommMsg, CommClose]
        assert comm[1].data == {"value": 42}
        assert all(m.parent_header["msg_type"] == "execute_request" for m in thread)
        assert monitor.stats["by_type"]["comm_msg"] >= 1


def test_error_is_typed(kernel: Kernel) -> None:
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        request = kernel.client.execute("1/0")
        error = monitor.wait_for(
            lambda m: isinstance(m, Error) and m.parent_id == request, timeout=15
        )
        assert isinstance(error, Error)
        assert error.ename == "ZeroDivisionError"
        assert "division by zero" in error.evalue
        assert any("ZeroDivisionError" in line for line in error.traceback)
        assert error.summary.startswith("ZeroDivisionError: division by zero")


# Paced a little: at full speed ipykernel itself drops iopub messages on this 2-core machine
# before any socket sees them (the loss count then says how many: see test_loss_is_counted).
MIXED = """
import time
from comm import create_comm
from IPython.display import display
c = create_comm(target_name="jpf.flood")
for i in range(4500):
    c.send({"i": i})
    if i % 200 == 0:
        time.sleep(0.01)
for i in range(1500):
    print(i, flush=True)
for i in range(600):
    display({"text/plain": str(i)}, raw=True)
c.close()
"""


def test_sees_exactly_what_an_independent_socket_sees(kernel: Kernel) -> None:
    context = zmq.Context.instance()
    raw = context.socket(zmq.SUB)
    raw.setsockopt(zmq.RCVHWM, 0)
    raw.setsockopt(zmq.SUBSCRIBE, b"")
    raw.connect(resolve_target(kernel.connection_file).url("iopub"))
    try:
        with Monitor(kernel.kernel_id) as monitor:
            monitor.wait_until_connected(15)
            # the raw socket is subscribed once it hears the kernel (a SUB connects lazily)
            wait_until(lambda: kernel.client.kernel_info() and raw.poll(200), 15, "raw SUB")
            request = kernel.client.execute(MIXED)
            monitor.wait_for(idle_of(request), timeout=60)
            raw_ids: set[str] = set()
            deadline = time.monotonic() + 30
            idle_seen = False
            while not idle_seen and time.monotonic() < deadline:
                if not raw.poll(1000):
                    continue
                frames = raw.recv_multipart()
                start = frames.index(DELIMITER)
                header = orjson.loads(frames[start + 2])
                parent = orjson.loads(frames[start + 3])
                if parent.get("msg_id") != request:
                    continue
                raw_ids.add(header["msg_id"])
                content = orjson.loads(frames[start + 5])
                idle_seen = header["msg_type"] == "status" and content.get("execution_state") == (
                    "idle"
                )
            ours = {m.msg_id for m in monitor.thread(request)}
            assert idle_seen
            assert len(raw_ids) >= 5000
            assert ours == raw_ids, (len(raw_ids - ours), monitor.stats)
            # Under load ipykernel itself can drop iopub messages before they reach any socket
            # (FACTS.md): then both sockets miss the same ones, and the monitor must say how many.
            counters = sorted(int(msg_id.rsplit("_", 1)[1]) for msg_id in raw_ids)
            raw_missing = counters[-1] - counters[0] + 1 - len(counters) - 1  # -1: execute_reply
            wait_until(
                lambda: monitor.stats["lost"] == raw_missing,
                5,
                f"lost == {raw_missing}, not {monitor.stats['lost']}: {gaps(counters)}",
            )
            assert monitor.stats["loss_detection"] == "available"
    finally:
        raw.close(linger=0)


def test_ipc_transport(start_kernel: Callable[..., Kernel]) -> None:
    target = start_kernel("ipc")
    with Monitor(target.connection_file) as monitor:
        monitor.wait_until_connected(15)
        assert monitor.connection["transport"] == "ipc"
        request = target.run("print('over ipc')")
        stream = monitor.wait_for(
            lambda m: isinstance(m, Stream) and m.parent_id == request, timeout=10
        )
        assert isinstance(stream, Stream)
        assert stream.text == "over ipc\n"


def test_unknown_target_fails_clearly_without_raising(runtime_dir: Path) -> None:
    monitor = Monitor("no-such-kernel")
    assert monitor.status == "failed"
    assert "no kernel matches 'no-such-kernel'" in monitor.status_detail
    with pytest.raises(KernelNotFoundError):
        monitor.wait_until_connected(1)
    monitor.close()
    monitor.close()
    assert monitor.status == "closed"


def test_restart_is_followed(start_kernel: Callable[..., Kernel]) -> None:
    target = start_kernel()
    with Monitor(target.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        first_session = monitor.wait_for("kernel_info_reply").session
        target.manager.restart_kernel(now=False)
        wait_until(lambda: monitor.stats["restarts"] == 1, 30, "the restart to be noticed")
        wait_until(lambda: monitor.status == "connected", 30, "connected again")
        target.client.wait_for_ready(timeout=30)
        request = target.run("print('after restart')")
        stream = monitor.wait_for(
            lambda m: isinstance(m, Stream) and m.parent_id == request, timeout=15
        )
        assert stream.session != first_session
        markers = [e for e in monitor._log.entries_after(-1) if e.channel == "monitor"]
        assert any(m.kind == "restart" for m in markers)  # type: ignore[union-attr]


def test_sigkill_makes_it_dead_and_keeps_messages(start_kernel: Callable[..., Kernel]) -> None:
    target = start_kernel()
    with Monitor(target.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        request = target.run("print('last words')")
        monitor.wait_for(idle_of(request), timeout=10)
        kept = len(monitor.messages)
        pid = target.manager.provisioner.process.pid  # type: ignore[union-attr]
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: monitor.status == "dead", 5, "dead")
        assert time.monotonic() - killed < 3
        assert str(pid) in monitor.status_detail
        assert len(monitor.messages) == kept


def test_sigstop_is_unresponsive_then_back(start_kernel: Callable[..., Kernel]) -> None:
    target = start_kernel()
    pid = target.manager.provisioner.process.pid  # type: ignore[union-attr]
    with Monitor(target.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_until(lambda: monitor.status == "unresponsive", 10, "unresponsive")
            assert "no heartbeat" in monitor.status_detail
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_until(lambda: monitor.status == "connected", 10, "connected again")


def test_a_kernel_stuck_in_c_is_busy_not_unresponsive(kernel: Kernel) -> None:
    """libc's sleep() called with the GIL held: the kernel can run nothing, but ipykernel's
    heartbeat is a ZMQ device in its own thread and needs no GIL, so it still answers. The
    monitor says what it can know: connected (the process is alive), busy and silent."""
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        # ipykernel publishes through a thread, which cannot run while the GIL is held: print
        # and let it out first. Then sleep() in chunks of 3 s until 9 s have passed (a signal
        # can end one early).
        request = kernel.client.execute(
            "import ctypes, time\nprint('going in', flush=True)\ntime.sleep(0.5)\n"
            "end = time.monotonic() + 9\n"
            "while time.monotonic() < end:\n    ctypes.PyDLL(None).sleep(3)"
        )
        monitor.wait_for(lambda m: m.parent_id == request and m.msg_type == "stream", 15)
        details: list[str] = []

        def said_stuck() -> bool:
            # two missed heartbeats (2 s) would have made it unresponsive by now
            assert monitor.status == "connected", monitor.status_detail
            details.append(monitor.status_detail)
            return "silent for" in monitor.status_detail

        wait_until(said_stuck, 8, "the detail to say busy and silent")
        assert "the heartbeat answers, so the process is alive" in details[-1]
        states = [
            m.content["execution_state"] for m in monitor.thread(request) if m.msg_type == "status"
        ]
        assert states == ["busy"]  # still in the call
        monitor.wait_for(idle_of(request), 15)
        wait_until(lambda: monitor.status_detail == "", 5, "the detail cleared once idle")


def test_close_stops_threads(kernel: Kernel) -> None:
    before = {t.name for t in threading.enumerate()}
    monitor = Monitor(kernel.kernel_id)
    monitor.wait_until_connected(15)
    assert any(t.name.startswith("jpf-capture") for t in threading.enumerate())
    monitor.close()
    monitor.close()
    after = {t.name for t in threading.enumerate() if t.name.startswith("jpf-")}
    assert after <= {n for n in before if n.startswith("jpf-")}


def gaps(counters: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for a, b in itertools.pairwise(counters) if b - a > 1]


FLOOD = """
from comm import create_comm
session = get_ipython().kernel.session
start = session.message_count
c = create_comm(target_name="jpf.flood")
for i in range(20000):
    c.send({"i": i})
end = session.message_count
print(start, end, flush=True)
"""


def test_loss_is_counted_truthfully(start_kernel: Callable[..., Kernel]) -> None:
    """At full speed the kernel may drop messages; the count must match the kernel's own."""
    target = start_kernel()
    with Monitor(target.kernel_id) as monitor:
        monitor.wait_until_connected(15)
        request = target.client.execute(FLOOD)
        monitor.wait_for(idle_of(request), timeout=60)
        printed = monitor.wait_for(
            lambda m: isinstance(m, Stream) and m.parent_id == request, timeout=5
        )
        start, end = map(int, printed.text.split())  # type: ignore[union-attr]
        seen = {
            int(m.msg_id.rsplit("_", 1)[1])
            for m in monitor.thread(request)
            if start <= int(m.msg_id.rsplit("_", 1)[1]) < end
        }
        truly_lost = (end - start) - len(seen)
        wait_until(
            lambda: monitor.stats["lost"] == truly_lost,
            5,
            f"lost == {truly_lost} (the kernel's own count), not {monitor.stats['lost']}",
        )
        assert monitor.stats["captured"] >= 20000 - truly_lost


def test_a_reply_that_overtakes_iopub_opens_no_gap() -> None:
    """Our own request's reply (shell) can be read before the iopub messages sent before it:
    the loss count must not flicker up in between, and a real gap must still count."""
    loss = LossDetector()
    session = "abc_4242"
    ours = {"msg_id": "r1", "msg_type": "kernel_info_request"}
    loss.feed(f"{session}_10", "status", "iopub", {})
    loss.feed(f"{session}_12", "kernel_info_reply", "shell", ours, own=True)
    assert loss.lost == 0  # 11 (the busy status) is still on its way
    loss.feed(f"{session}_11", "status", "iopub", ours)
    loss.feed(f"{session}_13", "status", "iopub", ours)
    assert loss.lost == 0
    loss.feed(f"{session}_15", "status", "iopub", {})
    assert loss.lost == 1  # 14 never came


def test_what_was_sent_before_our_subscription_is_not_loss() -> None:
    """On attach, our kernel_info_reply (shell) can carry a number from before iopub reached
    us; the window opens at the first iopub message (the kernel's iopub_welcome)."""
    loss = LossDetector()
    session = "abc_4242"
    ours = {"msg_id": "r0", "msg_type": "kernel_info_request"}
    loss.feed(f"{session}_6", "kernel_info_reply", "shell", ours, own=True)
    loss.feed(f"{session}_8", "iopub_welcome", "iopub", {})  # 5 and 7 (busy, idle) went before
    loss.feed(f"{session}_9", "status", "iopub", {})
    assert loss.lost == 0
    loss.feed(f"{session}_11", "status", "iopub", {})
    assert loss.lost == 1


def test_a_reply_that_never_came_is_excused_only_when_replies_cannot_be_seen() -> None:
    """Without a tap, another client's request seen on iopub excuses one number (its reply,
    which goes to that client alone); through a tap every reply comes to us, so a reply that
    never came is a loss."""
    other = {"msg_id": "q1", "msg_type": "execute_request"}
    for every_reply, lost in ((False, 0), (True, 1)):
        loss = LossDetector(every_reply=every_reply)
        loss.feed("abc_4242_1", "status", "iopub", other)  # busy
        loss.feed("abc_4242_2", "status", "iopub", other)  # idle; 3, its reply, never came
        loss.feed("abc_4242_4", "status", "iopub", {})
        assert loss.lost == lost
