"""Shared fixtures: real ipykernels started with jupyter_client in an isolated runtime dir."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from jpf_widget.tap.connection import fresh_ports


def wait_until(condition: Callable[[], object], timeout: float = 10, what: str = "") -> None:
    """Poll ``condition`` until it is true; fail, saying what was awaited, after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Jupyter runtime dir of the test run's own, so no real kernels are found."""
    folder = tmp_path_factory.mktemp("runtime")
    old = os.environ.get("JUPYTER_RUNTIME_DIR")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("JUPYTER_RUNTIME_DIR", None)
    else:
        os.environ["JUPYTER_RUNTIME_DIR"] = old


@dataclass
class Kernel:
    """A running target kernel and a separate client that drives it."""

    manager: KernelManager
    client: BlockingKernelClient

    @property
    def kernel_id(self) -> str:
        return Path(self.manager.connection_file).stem.removeprefix("kernel-")

    @property
    def connection_file(self) -> str:
        return str(self.manager.connection_file)

    def run(self, code: str, timeout: float = 30) -> str:
        """Execute ``code`` in the target and wait for its reply; returns the request's msg_id."""
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=lambda _m: None)
        return str(reply["parent_header"]["msg_id"])

    def shutdown(self) -> None:
        self.client.stop_channels()
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)


def _start_kernel(runtime_dir: Path, transport: str = "tcp") -> Kernel:
    kernel_id = str(uuid.uuid4())
    manager = KernelManager(
        kernel_name="python3",
        connection_file=str(runtime_dir / f"kernel-{kernel_id}.json"),
        transport=transport,
    )
    if transport == "ipc":
        manager.ip = str(runtime_dir / f"ipc-{kernel_id[:8]}")
    else:  # ports no outgoing connection can take before the kernel binds them
        ports = fresh_ports("127.0.0.1", 5) or [0] * 5
        names = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
        for name, port in zip(names, ports, strict=True):
            setattr(manager, name, port)
    manager.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return Kernel(manager, client)


@pytest.fixture
def start_kernel(runtime_dir: Path) -> Iterator[Callable[..., Kernel]]:
    """Start kernels on demand; all are shut down after the test."""
    started: list[Kernel] = []

    def start(transport: str = "tcp") -> Kernel:
        kernel = _start_kernel(runtime_dir, transport)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        kernel.shutdown()


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory, runtime_dir: Path) -> Iterator[Kernel]:
    """One target kernel shared by a module's tests."""
    target = _start_kernel(runtime_dir)
    yield target
    target.shutdown()
