"""A Monitor on a tapped kernel: every client's requests and replies, on every channel, once.

Real ipykernels behind the ``jpf-tap`` provisioner (the helpers of ``test_tap``), real
jupyter_client clients, a Monitor reading the tap's capture stream.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from jpf_widget import Monitor
from jpf_widget.backends import TapBackend
from jpf_widget.backends.tap import MASK
from jpf_widget.kernels import read_connection_file
from jpf_widget.log import MessageLog
from jpf_widget.messages import Message
from jpf_widget.tap import tap_info, tap_status

from .conftest import Kernel, wait_until
from .test_tap import install_specs, new_client, tapped_kernels

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    return install_specs(tmp_path_factory.mktemp("tap-prefix"))


@pytest.fixture
def start(runtime_dir: Path, specs: KernelSpecManager) -> Iterator[Callable[..., Kernel]]:
    with tapped_kernels(runtime_dir, specs) as start:
        yield start


@pytest.fixture
def tapped(start: Callable[..., Kernel]) -> Kernel:
    return start()


@pytest.fixture
def monitor(tapped: Kernel) -> Iterator[Monitor]:
    with Monitor(tapped.kernel_id) as watching:
        watching.wait_until_connected(30)
        # the monitor's own probe went through the tap: its reply, from the stream, says the
        # stream flows
        watching.wait_for(lambda m: m.msg_type == "kernel_info_reply", 30)
        yield watching


def of(monitor: Monitor, msg_type: str, **fields: object) -> list[Message]:
    return [
        m
        for m in monitor.messages
        if m.msg_type == msg_type and all(getattr(m, k) == v for k, v in fields.items())
    ]


def test_every_clients_requests_and_replies_once(tapped: Kernel, monitor: Monitor) -> None:
    assert monitor.capture == "tap"
    assert monitor.connection["tap"].startswith("ipc://")  # a private directory, not a port
    other = new_client(tapped)
    try:
        first = tapped.run("a = 1")
        second = other.execute_interactive("print('from the other')", timeout=30)
        second_id = second["parent_header"]["msg_id"]
        monitor.wait_for(
            lambda m: (
                m.msg_type == "status"
                and m.parent_id == second_id
                and m.content.get("execution_state") == "idle"
            ),
            30,
        )
        monitor.wait_for(lambda m: m.msg_type == "execute_reply" and m.parent_id == second_id, 30)
        requests = {m.msg_id: m for m in of(monitor, "execute_request")}
        assert first in requests
        assert second_id in requests
        replies = {m.parent_id: m for m in of(monitor, "execute_reply")}
        for request_id in (first, second_id):
            request, reply = requests[request_id], replies[request_id]
            assert (request.channel, request.direction) == ("shell", "to_kernel")
            assert (reply.channel, reply.direction) == ("shell", "from_kernel")
            assert request.client == reply.client is not None
            assert reply.content["status"] == "ok"
        # two clients, two ids; iopub belongs to none
        assert requests[first].client != requests[second_id].client
        assert all(m.client is None for m in of(monitor, "status"))
        # each message once: no msg_id twice (the monitor's own reply came on its shell socket
        # too, and was dropped there)
        ids = [m.msg_id for m in monitor.messages]
        assert len(ids) == len(set(ids))
        assert len(of(monitor, "kernel_info_reply", channel="shell")) >= 1
        # replies are seen, not excused: nothing lost, and loss detection works
        assert monitor.stats["lost"] == 0
        assert monitor.stats["loss_detection"] == "available"
        assert monitor.stats["by_channel"]["shell"] >= 4
        # the tap's counts, in the form its status and events carry them, are understood
        backend = monitor._backend
        assert isinstance(backend, TapBackend)
        before = backend._hello
        backend._count_drops(tap_status(backend.tap)["counts"], hello=True)
        assert backend._hello is not None
        assert {"shell>", "shell<", "iopub<"} <= set(backend._hello)
        backend._hello = before
        assert monitor.stats["tap_dropped_frames"] == 0
    finally:
        other.stop_channels()


def test_comm_messages_from_a_client_and_the_kernels_answer(
    tapped: Kernel, monitor: Monitor
) -> None:
    tapped.run(
        "def _target(comm, msg):\n"
        "    comm.on_msg(lambda m: comm.send({'echo': m['content']['data']['x']}))\n"
        "get_ipython().kernel.comm_manager.register_target('jpf.echo', _target)"
    )
    client = tapped.client
    comm_id = uuid.uuid4().hex
    client.shell_channel.send(
        client.session.msg("comm_open", {"comm_id": comm_id, "target_name": "jpf.echo", "data": {}})
    )
    client.shell_channel.send(
        client.session.msg("comm_msg", {"comm_id": comm_id, "data": {"x": 42}})
    )
    echo = monitor.wait_for(
        lambda m: m.msg_type == "comm_msg" and m.channel == "iopub" and m.comm_id == comm_id, 30
    )
    assert echo.content["data"] == {"echo": 42}
    sent = [m for m in monitor.comm_messages(comm_id) if m.direction == "to_kernel"]
    assert [m.msg_type for m in sent] == ["comm_open", "comm_msg"]
    assert all(m.channel == "shell" and m.client is not None for m in sent)
    assert sent[1].content["data"] == {"x": 42}


def test_input_and_a_password_answered_the_password_masked(
    tapped: Kernel, monitor: Monitor
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex[:8]}"
    answers = iter(["plain answer", secret])
    client = tapped.client

    def answer(_request: dict[str, Any]) -> None:
        client.input(next(answers))

    client.execute_interactive(
        "import getpass\nname = input('name? ')\npw = getpass.getpass('password? ')",
        allow_stdin=True,
        stdin_hook=answer,
        output_hook=lambda _m: None,
        timeout=30,
    )
    monitor.wait_for(lambda m: m.msg_type == "input_reply" and m.seq > 0, 30)
    wait_until(lambda: len(of(monitor, "input_reply")) == 2, 30, "both input replies")
    prompts = of(monitor, "input_request")
    assert [(m.channel, m.direction) for m in prompts] == [("stdin", "from_kernel")] * 2
    assert [m.content["password"] for m in prompts] == [False, True]
    replies = of(monitor, "input_reply")
    assert [(m.channel, m.direction) for m in replies] == [("stdin", "to_kernel")] * 2
    assert replies[0].content["value"] == "plain answer"
    assert replies[1].content["value"] == MASK
    # the secret is nowhere: not in any message held, not in what the view is sent
    assert not [m for m in monitor.messages if secret in m.content_text]
    assert all(m.client == prompts[0].client for m in (*prompts, *replies))


def test_a_request_on_control(tapped: Kernel, monitor: Monitor) -> None:
    client = tapped.client
    request = client.session.msg("kernel_info_request")
    client.control_channel.send(request)
    reply = monitor.wait_for(
        lambda m: m.parent_id == request["header"]["msg_id"] and m.channel == "control", 30
    )
    assert (reply.msg_type, reply.direction) == ("kernel_info_reply", "from_kernel")
    sent = monitor.get(request["header"]["msg_id"])
    assert sent is not None
    assert (sent.channel, sent.direction, sent.client) == ("control", "to_kernel", reply.client)


def test_kill_restart_and_shutdown_through_the_tap(tapped: Kernel, monitor: Monitor) -> None:
    manager: KernelManager = tapped.manager
    assert manager.provisioner is not None
    pid = manager.provisioner.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # the tap keeps its sockets: the heartbeat through it goes silent, the process is gone
    wait_until(lambda: monitor.status == "dead", 30, "dead after kill -9")
    assert "exited" in monitor.status_detail
    manager.restart_kernel(now=True)
    tapped.client.wait_for_ready(timeout=60)
    wait_until(lambda: monitor.stats["restarts"] == 1, 30, "the restart counted")
    wait_until(lambda: monitor.status == "connected", 30, "connected again")
    assert monitor.connection["shell_port"] == manager.get_connection_info()["shell_port"]
    tapped.run("b = 2")  # the restarted kernel is watched through the same tap
    tapped.shutdown()
    wait_until(lambda: monitor.status == "dead", 30, "dead after shutdown")


def test_an_untapped_kernel_says_what_it_cannot_see(kernel: Kernel) -> None:
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        assert monitor.capture == "iopub"
        request = kernel.run("c = 3")
        monitor.wait_for(lambda m: m.parent_id == request and m.msg_type == "status", 30)
        assert monitor.get(request) is None  # the request itself went only to the kernel
        assert not of(monitor, "execute_reply")


def test_a_second_client_of_the_tap_is_unaffected_by_a_monitor(
    tapped: Kernel, monitor: Monitor
) -> None:
    client: BlockingKernelClient = new_client(tapped)
    try:
        reply = client.execute_interactive("1 + 1", timeout=30)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
    assert monitor.status == "connected"


def test_frames_the_tap_relayed_but_never_delivered_are_counted_once_they_hold_still() -> None:
    from jpf_widget.backends import TapBackend  # noqa: PLC0415
    from jpf_widget.kernels import ConnectionInfo  # noqa: PLC0415
    from jpf_widget.log import MessageLog  # noqa: PLC0415
    from jpf_widget.tap import TapInfo  # noqa: PLC0415

    log = MessageLog()
    info = ConnectionInfo("tcp", "127.0.0.1", 1, 2, 3, 4, 5, "hmac-sha256", b"k")
    backend = TapBackend(info, TapInfo("tcp://127.0.0.1:6", "tcp://127.0.0.1:7"), log)
    taken = backend._frames_taken
    backend._on_event(
        {
            "event": "hello",
            "counts": {"iopub<": {"frames": 100, "bytes": 0}, "shell>": {"frames": 10, "bytes": 0}},
        }
    )
    taken.update({"iopub<": 50, "shell>": 5})  # what the stream delivered since
    backend._on_event(
        {
            "event": "stats",
            "counts": {"iopub<": {"frames": 170, "bytes": 0}, "shell>": {"frames": 15, "bytes": 0}},
        }
    )
    assert log.stats()["tap_dropped_frames"] == 0  # maybe still in flight
    taken["iopub<"] = 60
    backend._on_event(
        {
            "event": "stats",
            "counts": {"iopub<": {"frames": 170, "bytes": 0}, "shell>": {"frames": 15, "bytes": 0}},
        }
    )
    assert log.stats()["tap_dropped_frames"] == 0  # it moved: in flight after all
    backend._on_event(
        {
            "event": "stats",
            "counts": {"iopub<": {"frames": 170, "bytes": 0}, "shell>": {"frames": 15, "bytes": 0}},
        }
    )
    assert log.stats()["tap_dropped_frames"] == 10  # 70 relayed, 60 taken, and no change
    backend._on_event({"event": "failed", "problems": ["shell relay loop ended"]})
    assert backend.state == "dead"
    assert "shell relay loop ended" in backend.detail
    assert [e.kind for e in log.entries_after(-1)] == ["tap", "dead"]  # type: ignore[union-attr]


def test_what_the_capture_socket_drops_under_a_flood_is_counted_exactly(tapped: Kernel) -> None:
    """A reader stalled during a flood: the tap's capture socket drops for it. The frames
    counted as dropped are exactly those of the messages an independent, fast subscriber to
    the same capture socket got and the reader lacks; the loss count is every gap in the
    kernel's own numbering (the tap's drops, and any the kernel made before the tap)."""
    tap = tap_info(tapped.connection_file)
    assert tap is not None
    witness = _Witness(tap.url)
    log = MessageLog(budget=1 << 30)
    reader = TapBackend(read_connection_file(tapped.connection_file), tap, log, receive_hwm=100)
    reader.start()
    try:
        probe = log.wait_for(lambda m: m.msg_type == "kernel_info_reply", 30)
        assert probe is not None
        wait_until(lambda: probe.msg_id in witness.seen(), 30, "the witness listening")
        wait_until(lambda: reader._hello is not None, 30, "the tap's hello")
        with log._lock:  # the capture thread blocks as it records: its socket fills up
            flood = tapped.client.execute(
                "from comm import create_comm\n"
                "c = create_comm(target_name='jpf.drops')\n"
                "for i in range(30_000):\n"
                "    c.send({'i': i})\n"
            )
            reply = tapped.client.get_shell_msg(timeout=120)  # the kernel has sent it all
            assert reply["parent_header"]["msg_id"] == flood
        # After an overflow a subscriber with a small receive HWM gets the newest messages
        # only as more follow (libzmq): ask until the reader hears an answer. Not
        # execute_interactive: its iopub poll can sleep through what queued during the flood.
        for attempt in range(20):
            sync = tapped.client.execute(f"print('after the flood', {attempt})")
            if log.wait_for(lambda m, sync=sync: m.parent_id == sync, 5) is not None:
                break
        else:
            raise AssertionError(f"the reader heard nothing after the flood: {log.stats()}")

        def lacking() -> int:
            """Messages the witness got and the reader lacks (dropped, or still queued)."""
            return len(witness.seen() - {m.msg_id for m in log.messages()})

        assert lacking() > 1000, "the reader did not fall behind: nothing was dropped"

        def difference() -> int:
            # 7 frames a message: the topic or the client's routing id, the delimiter, the
            # signature and four dicts
            return int(log.stats()["tap_dropped_frames"]) - 7 * lacking()

        # The reader and the witness are compared while the newest few messages may be on
        # their way (the reader's own probes keep a little traffic going): a few apart at most.
        with contextlib.suppress(AssertionError):
            wait_until(lambda: abs(difference()) <= 7 * 3, 30)
        assert abs(difference()) <= 7 * 3, (log.stats()["tap_dropped_frames"], lacking())
        # the kernel numbers all it sends, on every channel, in one counter; loss is counted
        # from the first iopub message heard
        from_kernel = [m for m in log.messages() if m.direction == "from_kernel"]
        heard = {_counter(m.msg_id) for m in from_kernel} - {-1}
        first = min(_counter(m.msg_id) for m in from_kernel if m.channel == "iopub")
        gaps = sum(1 for n in range(first, max(heard) + 1) if n not in heard)
        assert gaps > 1000
        with contextlib.suppress(AssertionError):
            wait_until(lambda: log.stats()["lost"] == gaps, 30)
        assert log.stats()["lost"] == gaps
    finally:
        reader.close()
        witness.close()


def _counter(msg_id: str) -> int:
    """ipykernel's message counter in its msg_ids (``{session}_{pid}_{n}``), or -1."""
    tail = msg_id.rpartition("_")[2]
    return int(tail) if tail.isdigit() else -1


class _Witness:
    """A subscriber to a tap's capture socket that reads as fast as it comes (no HWM), in a
    thread: the msg_ids of the messages on every channel, both ways."""

    def __init__(self, url: str) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.RCVHWM, 0)
        self._socket.setsockopt(zmq.SUBSCRIBE, b"")
        self._socket.connect(url)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                frames = self._socket.recv_multipart()
                if b"<IDS|MSG>" in frames:  # not a tap event, not a subscription
                    at = frames.index(b"<IDS|MSG>")
                    with self._lock:
                        self._ids.add(json.loads(frames[at + 2])["msg_id"])
        except zmq.ContextTerminated:
            self._socket.close(linger=0)  # here: a socket belongs to one thread

    def seen(self) -> set[str]:
        with self._lock:
            return set(self._ids)

    def close(self) -> None:
        self._context.term()  # ends the thread's recv; returns once it closed its socket
        self._thread.join(5)


def test_a_monitor_on_a_tapped_xeus_kernel(runtime_dir: Path, tmp_path: Path) -> None:
    """xeus-python's msg_ids carry no counter, and its XPUB welcomes every subscriber: the
    monitor sees every channel, and says loss detection is not available, never false gaps."""
    from jpf_widget.tap.kernelspec import install  # noqa: PLC0415

    install("xpython", prefix=tmp_path)
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    with tapped_kernels(runtime_dir, specs) as start_xeus:
        kernel = start_xeus(name="xpython-tap")
        with Monitor(kernel.kernel_id) as monitor:
            monitor.wait_until_connected(30)
            assert monitor.capture == "tap"
            request = kernel.client.execute("x = 6 * 7\nprint(x)")
            reply = monitor.wait_for(
                lambda m: m.msg_type == "execute_reply" and m.parent_id == request, 30
            )
            sent = monitor.get(request)
            assert sent is not None
            assert (sent.direction, reply.direction) == ("to_kernel", "from_kernel")
            assert sent.client == reply.client is not None
            monitor.wait_for(lambda m: m.msg_type == "stream" and m.parent_id == request, 30)
            assert monitor.stats["loss_detection"] == "not available for this kernel"
            assert monitor.stats["lost"] == 0
