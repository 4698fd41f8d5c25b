"""A Monitor in the oldest supported monitoring kernel: ipykernel 6.x and the lowest dependencies.

``make test`` builds ``.venv-oldest`` (``make oldest``): jpf_widget installed with the lower
bound of every dependency it declares and the oldest supported ipykernel, pinned in
``env/oldest.txt``. Here a kernel of that environment runs ``Monitor(<connection file>)`` on a
target kernel of the main environment, and a view is played on the wire, as a browser's
would arrive: a ``comm_msg`` on the monitoring kernel's shell asks the widget for its history.
The rows of new traffic in the target must then leave the monitoring kernel on iopub. They are
sent by the Monitor's flusher thread, so this is the check that a background thread's comm
messages get out of that ipykernel, and that they do while the kernel is busy running a cell.
The same kernel also attaches through a Jupyter server: the websocket back end on the oldest
tornado.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from .conftest import Kernel
from .test_servers import start_server

ROOT = Path(__file__).resolve().parents[1]
OLDEST = ROOT / ".venv-oldest"
PINS = ROOT / "env" / "oldest.txt"

pytestmark = pytest.mark.skipif(
    not (OLDEST / "bin" / "python").exists(),
    reason="no .venv-oldest: `make oldest` builds it (`make test` does)",
)


def pins() -> dict[str, str]:
    """env/oldest.txt as {normalized name: version}."""
    found = {}
    for text in PINS.read_text().splitlines():
        pin = text.split("#")[0].strip()
        if pin:
            name, version = pin.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


class Iopub:
    """Everything a kernel publishes, kept in order, read as it comes."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.seen: list[dict[str, Any]] = []

    def until(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30
    ) -> dict[str, Any]:
        """The first message, among those seen and those to come, that ``match`` accepts."""
        for msg in self.seen:
            if match(msg):
                return msg
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.kernel.client.get_iopub_msg(timeout=left)
            except Empty:
                break
            self.seen.append(msg)
            if match(msg):
                return msg
            if msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
        last = [summary(m) for m in self.seen[-8:]]
        raise AssertionError(f"no {what} within {timeout} s; the last seen: {last}")

    def stdout(self, parent: str) -> str:
        """What the request ``parent`` printed, once it is done."""
        self.until(lambda m: is_status(m, "idle", parent), f"the end of {parent}")
        return "".join(
            m["content"]["text"]
            for m in self.seen
            if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == parent
        )


def summary(msg: dict[str, Any]) -> str:
    """A message in a few words, for a failure's report."""
    content = msg["content"]
    detail = (
        content.get("execution_state")
        or content.get("text", "")[:200]
        or content.get("data", {}).get("content", "")
    )
    return f"{msg['msg_type']} {detail} (parent {msg['parent_header'].get('msg_type')})"


def is_status(msg: dict[str, Any], state: str, parent: str) -> bool:
    return (
        msg["msg_type"] == "status"
        and msg["content"]["execution_state"] == state
        and msg["parent_header"].get("msg_id") == parent
    )


def custom(msg: dict[str, Any], comm_id: str, kind: str) -> dict[str, Any] | None:
    """The widget's custom message ``{"kind": kind, ...}`` in ``msg``, if that is what it is."""
    if msg["msg_type"] != "comm_msg" or msg["content"]["comm_id"] != comm_id:
        return None
    data = msg["content"]["data"]
    if data.get("method") != "custom" or data["content"].get("kind") != kind:
        return None
    content: dict[str, Any] = data["content"]
    return content


@pytest.fixture
def oldest(tmp_path: Path, runtime_dir: Path) -> Iterator[Kernel]:
    """A kernel of .venv-oldest, started by the main environment's jupyter_client."""
    specs = tmp_path / "kernels"
    (specs / "oldest").mkdir(parents=True)
    argv = [str(OLDEST / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (specs / "oldest" / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "oldest", "language": "python"})
    )
    manager = KernelManager(
        kernel_name="oldest",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
        connection_file=str(runtime_dir / f"kernel-{uuid.uuid4()}.json"),
    )
    manager.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    client = manager.blocking_client()
    client.start_channels()
    kernel = Kernel(manager, client)
    try:
        client.wait_for_ready(timeout=60)
        yield kernel
    finally:
        kernel.shutdown()


VERSIONS = """
from importlib.metadata import version
for name in {names!r}:
    print(name, version(name))
"""

# Every module of the package imports with the lowest versions (``__main__`` would run).
IMPORT_ALL = """
import importlib, pkgutil, jpf_widget
for module in pkgutil.walk_packages(jpf_widget.__path__, "jpf_widget."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
print("imported", jpf_widget.__file__)
"""

ATTACH = """
from jpf_widget import Monitor
m = Monitor({connection_file!r})
m.wait_until_connected(30)
print("comm", m.model_id)
"""


THROUGH_A_SERVER = """
from jpf_widget import Monitor
m = Monitor({kernel_id!r}, server={url!r}, token={token!r})
m.wait_until_connected(30)
reply = m.wait_for("kernel_info_reply", 30)
print(reply.channel, reply.msg_type)
m.close()
"""


def test_the_oldest_environment_is_the_one_pinned(oldest: Kernel) -> None:
    iopub = Iopub(oldest)
    wanted = pins()  # a .venv-oldest older than env/oldest.txt would not be
    printed = iopub.stdout(oldest.client.execute(VERSIONS.format(names=sorted(wanted))))
    assert dict(line.split() for line in printed.splitlines()) == wanted
    assert wanted["ipykernel"].startswith("6.")

    printed = iopub.stdout(oldest.client.execute(IMPORT_ALL))
    assert printed.startswith("imported ")
    assert str(ROOT) in printed  # this work tree's package, installed editable


def test_monitor_in_the_oldest_kernel_attaches_through_a_server(
    oldest: Kernel, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "server")
    try:
        code = THROUGH_A_SERVER.format(
            kernel_id=server.start_kernel(), url=server.url, token=server.token
        )
        printed = Iopub(oldest).stdout(oldest.client.execute(code))
    finally:
        server.stop()
    assert printed.split() == ["shell", "kernel_info_reply"]


def test_monitor_in_the_oldest_kernel_sends_rows_from_its_thread(
    kernel: Kernel, oldest: Kernel
) -> None:
    iopub = Iopub(oldest)
    connected = oldest.client.execute(ATTACH.format(connection_file=kernel.connection_file))
    comm_id = iopub.stdout(connected).split()[-1]
    iopub.until(
        lambda m: m["msg_type"] == "comm_open" and m["content"]["comm_id"] == comm_id,
        "the widget's comm_open",
    )

    # a view renders: it asks for the history, through the shell channel, as a browser does
    ask = {"method": "custom", "content": {"kind": "history", "id": 1}}
    request = oldest.client.session.msg("comm_msg", {"comm_id": comm_id, "data": ask})
    oldest.client.shell_channel.send(request)
    iopub.until(lambda m: custom(m, comm_id, "history") is not None, "the history answer")

    # the monitoring kernel runs a long cell; the target kernel prints meanwhile
    busy = oldest.client.execute("import time; time.sleep(60)")
    iopub.until(lambda m: is_status(m, "busy", busy), "the sleeping cell's start")
    printed_in_target = kernel.run("print('seen from ipykernel 6')")

    # the flusher thread sends the rows of that request while the cell still runs
    def has_target_stream(msg: dict[str, Any]) -> bool:
        if custom(msg, comm_id, "rows") is None:
            return False
        rows = [row for buffer in msg["buffers"] for row in json.loads(bytes(buffer))]
        return any(r["parent_id"] == printed_in_target and r["msg_type"] == "stream" for r in rows)

    rows = iopub.until(has_target_stream, "a row of the target's print")
    seen_before = iopub.seen[: iopub.seen.index(rows)]
    assert not any(is_status(m, "idle", busy) for m in seen_before), "sent only once idle"
