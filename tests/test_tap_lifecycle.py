"""A tapped kernel's life: restarts keep the public ports and the tap, a kernel on new private
ports is followed, kill -9 looks dead through the tap, shutdown leaves nothing behind; the ipc
transport; a relay loop that dies is reported."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.restarter import KernelRestarter

from jpf_widget.tap import TapInfo, TapUnavailable, parse_event, tap_info, tap_status
from jpf_widget.tap.relay import Endpoints, Relay

from .conftest import Kernel, wait_until
from .test_tap import CaptureReader, install_specs, new_client, tapped_kernels

PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


@pytest.fixture(scope="module")
def tap_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    return install_specs(tmp_path_factory.mktemp("tap-prefix"))


@pytest.fixture
def start_tap(runtime_dir: Path, tap_specs: KernelSpecManager) -> Iterator[Callable[..., Kernel]]:
    with tapped_kernels(runtime_dir, tap_specs) as start:
        yield start


def public_info(kernel: Kernel) -> dict[str, object]:
    return dict(json.loads(Path(kernel.connection_file).read_text()))


def private_info(kernel: Kernel) -> dict[str, object]:
    folder = kernel.manager.provisioner.private_dir  # type: ignore[union-attr]
    return dict(json.loads((folder / "connection.json").read_text()))


def the_tap(kernel: Kernel) -> TapInfo:
    tap = tap_info(kernel.connection_file)
    assert tap is not None
    return tap


def works(kernel: Kernel) -> None:
    """The kernel answers an execute through its public ports."""
    kernel.client.wait_for_ready(timeout=60)
    assert kernel.client.execute_interactive("40 + 2", timeout=30)["content"]["status"] == "ok"


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("now", [False, True], ids=["graceful", "now"])
def test_restart_keeps_the_public_ports_and_the_tap(
    start_tap: Callable[..., Kernel], now: bool
) -> None:
    kernel = start_tap()
    public, tap = public_info(kernel), the_tap(kernel)
    reader = CaptureReader(kernel)
    try:
        pid = kernel.manager.provisioner.pid  # type: ignore[union-attr]
        kernel.manager.restart_kernel(now=now)
        assert kernel.manager.provisioner.pid != pid  # type: ignore[union-attr]
        works(kernel)  # the same client, through the same ports
        assert public_info(kernel) == public
        assert tap_status(tap)["kernel_launches"] == 2
        reader.wait(lambda: any(e["event"] == "kernel" for e in reader.events), what="kernel")
        if not now:  # the KernelManager asked the old kernel to stop, through the tap
            assert reader.wait_for("shutdown_request", "control>")
            assert reader.wait_for("shutdown_reply", "control<")
        reader.wait_for("execute_reply", "shell<")
    finally:
        reader.close()


def below_outgoing_ports(info: dict[str, object]) -> bool:
    """Whether the private ports are below the range outgoing connections take theirs from
    (so no client of any process can take one before the starting kernel binds it)."""
    lowest = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return all(10_000 <= int(info[p]) < lowest for p in PORTS)  # type: ignore[call-overload]


def test_a_kernel_on_new_private_ports_is_followed(start_tap: Callable[..., Kernel]) -> None:
    """The kernel's old private port is taken when it starts again: it gets fresh ports, and
    the relay follows it there; clients see the same public ports."""
    kernel = start_tap()
    public, before = public_info(kernel), private_info(kernel)
    assert below_outgoing_ports(before)
    reader = CaptureReader(kernel)
    kernel.manager.shutdown_kernel(now=True, restart=True)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", int(before["shell_port"])))  # type: ignore[call-overload]
        squatter.listen()
        kernel.manager.start_kernel(**kernel.manager._launch_args)
        after = private_info(kernel)
        assert {after[p] for p in PORTS}.isdisjoint({before[p] for p in PORTS})
        assert below_outgoing_ports(after)
        works(kernel)
    assert public_info(kernel) == public
    reader.wait(
        lambda: any(e["event"] == "kernel" and e["moved"] for e in reader.events), what="moved"
    )
    assert tap_status(the_tap(kernel))["health"] == "ok"
    reader.close()


def test_kill_9_looks_dead_and_the_restarter_recovers(start_tap: Callable[..., Kernel]) -> None:
    """SIGKILL: the heartbeat through the tap goes silent (the tap never answers it); the
    KernelManager's restarter starts a new kernel with new random ports (its rule for a kernel
    that dies in its first seconds) and the tap keeps the public ones."""
    kernel = start_tap(cache_ports=False)
    public = public_info(kernel)
    hb = kernel.client.hb_channel
    wait_until(hb.is_beating, 20, "the heartbeat")
    os.kill(kernel.manager.provisioner.pid, signal.SIGKILL)  # type: ignore[union-attr]
    wait_until(lambda: not hb.is_beating(), 20, "the heartbeat to stop")
    wait_until(lambda: not kernel.manager.is_alive(), 10, "the kernel to be dead")
    restarter = KernelRestarter(kernel_manager=kernel.manager)
    assert restarter.random_ports_until_alive
    restarter.poll()  # what the restarter's timer does: restart_kernel(now=True, newports=True)
    works(kernel)
    wait_until(hb.is_beating, 20, "the heartbeat again")
    assert {k: public_info(kernel)[k] for k in PORTS} == {k: public[k] for k in PORTS}
    assert tap_status(the_tap(kernel))["kernel_launches"] == 2


def test_shutdown_removes_both_files_frees_the_ports_and_joins_the_threads(
    start_tap: Callable[..., Kernel],
) -> None:
    kernel = start_tap()
    public = public_info(kernel)
    tap = the_tap(kernel)
    provisioner = kernel.manager.provisioner
    relay = provisioner.relay  # type: ignore[union-attr]
    folder = provisioner.private_dir  # type: ignore[union-attr]
    threads = relay.threads()
    assert len(threads) == 11
    assert all(t.is_alive() for t in threads)
    reader = CaptureReader(kernel)
    kernel.client.stop_channels()
    kernel.manager.shutdown_kernel()
    assert not Path(kernel.connection_file).exists()
    assert not folder.exists()
    assert not any(t.is_alive() for t in threads)
    # the capture and status sockets were files in the private folder, gone with it
    assert tap.url == f"ipc://{folder}/capture"
    for port in (int(public[p]) for p in PORTS):  # type: ignore[call-overload]
        assert port_free(port), port
    reader.wait(lambda: any(e["event"] == "closing" for e in reader.events), what="closing")
    reader.close()


def test_a_failed_relay_is_replaced_when_the_kernel_restarts(
    start_tap: Callable[..., Kernel],
) -> None:
    kernel = start_tap()
    tap = the_tap(kernel)
    relay = kernel.manager.provisioner.relay  # type: ignore[union-attr]
    with relay._control_lock:
        relay._steer["shell"].control.send(b"TERMINATE")  # a loop ends on its own
    wait_until(lambda: tap_status(tap)["health"] == "failed", 10, "the failure to show")
    kernel.manager.restart_kernel()
    assert kernel.manager.provisioner.relay is not relay  # type: ignore[union-attr]
    assert not any(t.is_alive() for t in relay.threads())
    works(kernel)
    assert the_tap(kernel) == tap  # the same addresses: Monitors stay connected
    assert tap_status(tap)["health"] == "ok"


def test_ipc_transport(start_tap: Callable[..., Kernel]) -> None:
    """ipc: the capture is a socket file in the private 0700 directory; a restart (whose
    KernelManager removes the public socket files) keeps the kernel reachable."""
    kernel = start_tap(transport="ipc")
    tap = the_tap(kernel)
    folder = kernel.manager.provisioner.private_dir  # type: ignore[union-attr]
    assert tap.url == f"ipc://{folder}/capture"
    assert folder.stat().st_mode & 0o777 == 0o700
    reader = CaptureReader(kernel)
    try:
        works(kernel)
        kernel.manager.restart_kernel()
        works(kernel)
        public = public_info(kernel)
        for port in PORTS:  # the KernelManager removed them; the tap put them back
            assert Path(f"{public['ip']}-{public[port]}").is_socket()
        late = new_client(kernel)  # so a client that connects now finds the relay
        assert late.execute_interactive("1", timeout=30)["content"]["status"] == "ok"
        late.stop_channels()
        assert all(m.verifies(bytes(kernel.manager.session.key)) for m in reader.messages)
        assert len(reader.wait_for("execute_reply", "shell<", 3)) == 3
    finally:
        reader.close()
    kernel.client.stop_channels()
    kernel.manager.shutdown_kernel(now=True)
    assert not folder.exists()


def free_endpoints() -> Endpoints:
    ports = []
    for _ in PORTS:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    return Endpoints.from_info({"ip": "127.0.0.1", **dict(zip(PORTS, ports, strict=True))})


def started_relay() -> Relay:
    """A relay between free loopback ports, with no kernel behind it."""
    relay = Relay(
        free_endpoints(),
        free_endpoints(),
        capture_url="tcp://127.0.0.1:*",
        status_url="tcp://127.0.0.1:*",
    )
    relay.start()
    return relay


def test_a_relay_loop_that_dies_is_reported(tmp_path: Path) -> None:
    """No kernel needed: end one kernel-side loop behind the relay's back; the status says
    "failed", and a "failed" event reaches the capture stream."""

    relay = started_relay()
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.connect(relay.capture_url)
    sub.subscribe(b"tap!")
    events: list[dict[str, object]] = []

    def seen(name: str) -> bool:
        while sub.poll(100):
            event = parse_event(sub.recv_multipart())
            assert event is not None
            events.append(event)
        return any(e["event"] == name for e in events)

    try:
        wait_until(lambda: seen("hello"), 10, "hello")
        tap = TapInfo(relay.capture_url, relay.status_url, os.getpid())
        assert tap_status(tap)["health"] == "ok"
        steer = relay._steer["shell"]
        with relay._control_lock:
            steer.control.send(b"TERMINATE")  # the loop ends without the relay asking
        assert steer.loop.thread is not None
        steer.loop.thread.join(5)
        wait_until(lambda: seen("failed"), 10, "the failed event")
        status = tap_status(tap)
        assert status["health"] == "failed"
        assert any("shell" in problem for problem in status["problems"])
    finally:
        sub.close(linger=0)
        ctx.term()
        relay.stop()
    assert not any(t.is_alive() for t in relay.threads())


def test_waking_a_supervisor_that_has_ended_never_blocks() -> None:
    """``stop`` (and every event published) wakes the supervisor through an inproc pair. The
    supervisor also ends by itself when it sees the relay stopped at a poll's timeout, closing
    its end: a wake sent after that must return, as stop's did not when it lost that race."""
    relay = started_relay()
    supervisor = relay._supervisor
    assert supervisor is not None
    assert supervisor.thread is not None
    try:
        relay._stopped.set()  # as stop() does, but without its wake: the poll times out
        supervisor.thread.join(5)
        assert not supervisor.thread.is_alive()

        def wake_often() -> None:  # more than any queue between the pair's ends holds
            for _ in range(5_000):
                relay._wake_supervisor()

        waker = threading.Thread(target=wake_often, daemon=True)
        waker.start()
        waker.join(10)
        assert not waker.is_alive(), "a wake blocked on the ended supervisor's pair"
    finally:
        relay._stopped.clear()
        relay.stop()
    assert not any(t.is_alive() for t in relay.threads())


def test_the_tap_status_of_a_tap_that_is_gone() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tap = TapInfo(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port}", pid=2**22 + 1)
    start = time.monotonic()
    with pytest.raises(TapUnavailable, match="has exited"):
        tap_status(tap, timeout=0.3)
    assert time.monotonic() - start < 2
