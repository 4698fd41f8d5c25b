"""A Monitor on a tapped kernel: every client's requests and replies, on every channel, once.

Real ipykernels behind the ``jpf-tap`` provisioner (the helpers of ``test_tap``), real
jupyter_client clients, a Monitor reading the tap's capture stream.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from jpf_widget import Monitor
from jpf_widget.backends import TapBackend
from jpf_widget.backends.tap import MASK
from jpf_widget.messages import Message
from jpf_widget.tap import tap_status

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
