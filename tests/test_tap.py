"""The tap in front of real ipykernels started by jupyter_client on the ``jpf-tap`` provisioner:
routing of every channel for several clients, the capture stream, interrupts, and a flood with
a capture reader that does not read.

The helpers here (a tapped-kernel factory, a capture reader) are shared with the other
``test_tap_*`` modules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from jpf_widget.cli import main as jpf
from jpf_widget.tap import EVENT_TAG, TAGS, parse_event, split_tag, tap_info, tap_status
from jpf_widget.tap.kernelspec import install

from .conftest import Kernel, wait_until

DELIM = b"<IDS|MSG>"
SPEC = "python3-tap"


# ---------------------------------------------------------------------- shared helpers


def install_specs(prefix: Path) -> KernelSpecManager:
    """``jpf tap install --prefix``'s kernelspec, and a copy of it with interrupt_mode message;
    a KernelSpecManager that finds them."""
    install("python3", prefix=prefix)
    kernels = prefix / "share" / "jupyter" / "kernels"
    spec = json.loads((kernels / SPEC / "kernel.json").read_text())
    spec["interrupt_mode"] = "message"
    (kernels / f"{SPEC}-message").mkdir()
    (kernels / f"{SPEC}-message" / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(kernels)])


def ready(client: BlockingKernelClient, timeout: float = 60) -> None:
    """``wait_for_ready``, and the replies to its kernel_info_requests read.

    ``wait_for_ready`` sends another request each time a reply or an iopub message is slow (under
    load), and returns on the first reply: the others would come before the reply a test waits
    for. One more request, whose reply comes after all of them, tells when they are read.
    """
    client.wait_for_ready(timeout=timeout)
    last = client.kernel_info()
    while (reply := client.get_shell_msg(timeout=timeout))["parent_header"]["msg_id"] != last:
        assert reply["msg_type"] == "kernel_info_reply", reply["msg_type"]


def start_tapped(
    runtime_dir: Path,
    specs: KernelSpecManager,
    name: str = SPEC,
    transport: str = "tcp",
    **manager_options: Any,
) -> Kernel:
    """A kernel started by a KernelManager on a tapped kernelspec, and a ready client."""
    kernel_id = str(uuid.uuid4())
    manager = KernelManager(
        kernel_name=name,
        kernel_spec_manager=specs,
        connection_file=str(runtime_dir / f"kernel-{kernel_id}.json"),
        transport=transport,
        **manager_options,
    )
    if transport == "ipc":
        manager.ip = str(runtime_dir / f"ipc-{kernel_id[:8]}")
    ipykernel = manager.kernel_spec is not None and "ipykernel_launcher" in manager.kernel_spec.argv
    manager.start_kernel(extra_arguments=["--HistoryManager.enabled=False"] if ipykernel else [])
    client = manager.blocking_client()
    client.start_channels()
    ready(client)
    return Kernel(manager, client)


@contextmanager
def tapped_kernels(runtime_dir: Path, specs: KernelSpecManager) -> Iterator[Callable[..., Kernel]]:
    """Start tapped kernels on demand; all are shut down at the end."""
    started: list[Kernel] = []

    def start(**options: Any) -> Kernel:
        kernel = start_tapped(runtime_dir, specs, **options)
        started.append(kernel)
        return kernel

    try:
        yield start
    finally:
        for kernel in started:
            kernel.shutdown()


@pytest.fixture(scope="module")
def tap_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    return install_specs(tmp_path_factory.mktemp("tap-prefix"))


@pytest.fixture
def start_tap(runtime_dir: Path, tap_specs: KernelSpecManager) -> Iterator[Callable[..., Kernel]]:
    with tapped_kernels(runtime_dir, tap_specs) as start:
        yield start


@pytest.fixture(scope="module")
def tapped(runtime_dir: Path, tap_specs: KernelSpecManager) -> Iterator[Kernel]:
    """One tapped kernel shared by a module's tests."""
    kernel = start_tapped(runtime_dir, tap_specs)
    yield kernel
    kernel.shutdown()


def new_client(kernel: Kernel) -> BlockingKernelClient:
    """Another client of the kernel, connected through its public connection file."""
    client = BlockingKernelClient(connection_file=kernel.connection_file)
    client.load_connection_file()
    client.start_channels()
    ready(client, 30)
    return client


def key_of(kernel: Kernel) -> bytes:
    return bytes(kernel.manager.session.key)


class Captured:
    """One message of the capture stream, split."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.channel, self.direction = split_tag(frames[0]) or ("", "")
        at = frames.index(DELIM)
        self.ids = frames[1:at]
        self.signature = frames[at + 1]
        self.parts = frames[at + 2 : at + 6]
        self.header = json.loads(self.parts[0])
        self.parent = json.loads(self.parts[1])
        self.content = json.loads(self.parts[3])

    @property
    def msg_type(self) -> str:
        return str(self.header["msg_type"])

    def verifies(self, key: bytes) -> bool:
        digest = hmac.new(key, digestmod=hashlib.sha256)
        for part in self.parts:
            digest.update(part)
        return hmac.compare_digest(digest.hexdigest().encode(), self.signature)

    def __repr__(self) -> str:
        return f"<{self.frames[0].decode()} {self.msg_type}>"


class CaptureReader:
    """A SUB on a tap's capture socket, subscribed (the tap's ``hello`` has arrived)."""

    def __init__(self, kernel: Kernel | str, rcvhwm: int = 0) -> None:
        tap = tap_info(kernel if isinstance(kernel, str) else kernel.connection_file)
        assert tap is not None
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, rcvhwm)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(tap.url)
        self.sub.subscribe(b"")
        self.messages: list[Captured] = []
        self.events: list[dict[str, Any]] = []
        self.frames: dict[str, int] = {}  # frames received per tag, as the tap counts them
        self.wait(lambda: any(e["event"] == "hello" for e in self.events), what="the hello")

    def take(self, frames: list[bytes]) -> None:
        if frames[0] == EVENT_TAG:
            event = parse_event(frames)
            assert event is not None
            self.events.append(event)
            return
        name = frames[0].decode()
        self.frames[name] = self.frames.get(name, 0) + len(frames) - 1
        if DELIM in frames:
            self.messages.append(Captured(frames))

    def wait(self, condition: Callable[[], object], timeout: float = 20, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or condition}")
            if self.sub.poll(int(min(left, 0.2) * 1000)):
                self.take(self.sub.recv_multipart())

    def find(self, msg_type: str, tag: str, parent: str | None = None) -> list[Captured]:
        """The messages of ``msg_type`` under ``tag``; only the replies and outputs of request
        ``parent`` if given."""
        return [
            m
            for m in self.messages
            if m.msg_type == msg_type
            and m.frames[0] == tag.encode()
            and (parent is None or m.parent.get("msg_id") == parent)
        ]

    def wait_for(
        self, msg_type: str, tag: str, count: int = 1, parent: str | None = None
    ) -> list[Captured]:
        self.wait(
            lambda: len(self.find(msg_type, tag, parent)) >= count,
            what=f"{count} {tag} {msg_type}" + (f" to {parent}" if parent else ""),
        )
        return self.find(msg_type, tag, parent)

    def close(self) -> None:
        self.sub.close()
        self.ctx.term()


@pytest.fixture
def capture(tapped: Kernel) -> Iterator[CaptureReader]:
    reader = CaptureReader(tapped)
    yield reader
    reader.close()


def reply_to(client: BlockingKernelClient, msg_id: str, timeout: float = 30) -> dict[str, Any]:
    """The client's next shell message, which must be the reply to ``msg_id``."""
    reply: dict[str, Any] = client.get_shell_msg(timeout=timeout)
    assert reply["parent_header"]["msg_id"] == msg_id, reply["msg_type"]
    return reply


# ---------------------------------------------------------------------- tests


def test_connection_files(tapped: Kernel, runtime_dir: Path) -> None:
    """The public file holds the relay's ports and ``jpf_tap``; the kernel's own file is
    private, elsewhere, with the same key and other ports."""
    public = json.loads(Path(tapped.connection_file).read_text())
    provisioner = tapped.manager.provisioner
    private_dir = provisioner.private_dir  # type: ignore[union-attr]
    private_files = list(private_dir.glob("*.json"))
    assert [p.name for p in private_files] == ["connection.json"]
    private = json.loads(private_files[0].read_text())
    assert private_dir.stat().st_mode & 0o777 == 0o700
    assert oct(private_files[0].stat().st_mode & 0o777) == oct(0o600)
    assert not private_dir.is_relative_to(runtime_dir)
    assert (private["key"], private["signature_scheme"]) == (
        public["key"],
        public["signature_scheme"],
    )
    ports = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
    assert not {public[p] for p in ports} & {private[p] for p in ports}
    tap = tap_info(public)
    assert tap is not None
    assert tap == tap_info(tapped.connection_file)
    # the capture carries every input: a socket file in the private directory, not a port
    assert tap.url == f"ipc://{private_dir}/capture"
    assert tap.status_url == f"ipc://{private_dir}/status"
    assert tap.pid == os.getpid()
    assert tap.process_exists()
    status = tap_status(tap)
    assert status["health"] == "ok", status
    assert status["kernel_launches"] == 1
    assert set(status["counts"]) == {tag.decode() for tag in TAGS}
    assert tap_info({k: v for k, v in public.items() if k != "jpf_tap"}) is None
    # the only connection file in the runtime dir is the public one
    ours = [
        p.name
        for p in runtime_dir.glob("*.json")
        if json.loads(p.read_text()).get("key") == public["key"]
    ]
    assert ours == [Path(tapped.connection_file).name]  # the run's runtime dir is shared


def test_jpf_list_and_jpf_tap_status(tapped: Kernel, capsys: pytest.CaptureFixture[str]) -> None:
    assert jpf(["list", "--no-servers"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if tapped.kernel_id in line)
    assert "(tapped)" in line
    assert jpf(["tap", "status", tapped.kernel_id[:8]]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["health"] == "ok"
    assert status["url"] == tap_info(tapped.connection_file).url  # type: ignore[union-attr]
    assert jpf(["tap", "status", "no-such-kernel"]) == 1
    assert "no-such-kernel" in capsys.readouterr().err


def test_two_clients_get_only_their_own_replies(tapped: Kernel, capture: CaptureReader) -> None:
    a, b = new_client(tapped), new_client(tapped)
    try:
        sent_a = a.execute("who = 'a'")
        sent_b = b.execute("who = 'b'")
        reply_to(a, sent_a)
        reply_to(b, sent_b)
        # had either reply gone to the other client too, it would come before this one
        reply_to(a, a.kernel_info())
        reply_to(b, b.kernel_info())
        requests = {m.header["msg_id"]: m for m in capture.wait_for("execute_request", "shell>", 2)}
        replies = capture.wait_for("execute_reply", "shell<", 2)
        for reply in replies:
            request = requests[reply.parent["msg_id"]]
            assert reply.ids == request.ids  # the same client identity both ways
        assert {m.ids[0] for m in requests.values()} == {a.session.bsession, b.session.bsession}
    finally:
        a.stop_channels()
        b.stop_channels()


def test_input_and_getpass_answered_by_the_asking_client(
    tapped: Kernel, capture: CaptureReader
) -> None:
    a, b = new_client(tapped), new_client(tapped)
    try:
        code = "import getpass\nname = input('name? ')\nsecret = getpass.getpass('pw: ')"
        sent = a.execute(code, allow_stdin=True)
        b.execute("pass", allow_stdin=True)  # b could be asked too, but is not
        first = a.get_stdin_msg(timeout=20)
        assert (first["msg_type"], first["content"]["prompt"]) == ("input_request", "name? ")
        a.input("ada")
        second = a.get_stdin_msg(timeout=20)
        assert second["content"] == {"prompt": "pw: ", "password": True}
        a.input("hunter2")
        assert reply_to(a, sent)["content"]["status"] == "ok"
        b.get_shell_msg(timeout=20)
        check = a.execute("", user_expressions={"both": "name + ':' + secret"})
        reply = reply_to(a, check)
        assert reply["content"]["user_expressions"]["both"]["data"]["text/plain"] == "'ada:hunter2'"
        assert not b.stdin_channel.msg_ready()
        asked = capture.wait_for("input_request", "stdin<", 2)
        answered = capture.wait_for("input_reply", "stdin>", 2)
        assert {m.ids[0] for m in asked + answered} == {a.session.bsession}
        assert [m.content["value"] for m in answered] == ["ada", "hunter2"]
    finally:
        a.stop_channels()
        b.stop_channels()


ECHO_TARGET = """
from comm import get_comm_manager

def _jpf_echo(comm, open_msg):
    comm.send({"echo": open_msg["content"]["data"]})

    @comm.on_msg
    def _answer(msg):
        comm.send({"echo": msg["content"]["data"]})

get_comm_manager().register_target("jpf-echo", _jpf_echo)
"""


def test_comm_from_a_client_and_the_kernels_answer(tapped: Kernel, capture: CaptureReader) -> None:
    tapped.run(ECHO_TARGET)
    client = tapped.client
    comm_id = uuid.uuid4().hex
    opened = client.session.msg(
        "comm_open", {"comm_id": comm_id, "target_name": "jpf-echo", "data": {"n": 1}}
    )
    client.shell_channel.send(opened)
    client.shell_channel.send(
        client.session.msg("comm_msg", {"comm_id": comm_id, "data": {"n": 2}})
    )
    echoes: list[Any] = []
    deadline = time.monotonic() + 20
    while len(echoes) < 2 and time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
            echoes.append(msg["content"]["data"])
    assert echoes == [{"echo": {"n": 1}}, {"echo": {"n": 2}}]
    assert capture.wait_for("comm_open", "shell>")[0].content["comm_id"] == comm_id
    assert capture.wait_for("comm_msg", "shell>")[0].content["data"] == {"n": 2}
    answers = capture.wait_for("comm_msg", "iopub<", 2)
    assert [m.content["data"] for m in answers] == echoes


def test_a_request_on_control(tapped: Kernel, capture: CaptureReader) -> None:
    client = tapped.client
    request = client.session.msg("kernel_info_request")
    client.control_channel.send(request)
    reply = client.get_control_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == request["header"]["msg_id"]
    assert reply["content"]["status"] == "ok"
    (sent,) = [
        m
        for m in capture.wait_for("kernel_info_request", "control>")
        if m.header["msg_id"] == request["header"]["msg_id"]
    ]
    (answered,) = [
        m
        for m in capture.wait_for("kernel_info_reply", "control<")
        if m.parent["msg_id"] == request["header"]["msg_id"]
    ]
    assert sent.ids == answered.ids == [client.session.bsession]


def test_capture_has_every_frame_verbatim(tapped: Kernel, capture: CaptureReader) -> None:
    """Every message both ways, tagged with its channel and direction; each signature verifies
    with the kernel's key (no frame altered); the frame counts match the tap's."""
    client = tapped.client
    before = tap_status(tap_info(tapped.connection_file))["counts"]  # type: ignore[arg-type]
    sent = client.execute("print('hello', flush=True)\n1 + 1")
    reply_to(client, sent)
    control = client.session.msg("kernel_info_request")
    client.control_channel.send(control)
    client.get_control_msg(timeout=20)
    capture.wait_for("execute_reply", "shell<")
    capture.wait_for("kernel_info_reply", "control<")

    def ours(m: Captured) -> bool:
        return m.header["msg_id"] in (sent, control["header"]["msg_id"]) or m.parent.get(
            "msg_id"
        ) in (sent, control["header"]["msg_id"])

    capture.wait(
        lambda: any(
            m.msg_type == "status" and m.content["execution_state"] == "idle" and ours(m)
            for m in capture.find("status", "iopub<")
        ),
        what="idle after the execute",
    )
    seen = {(m.channel, m.direction, m.msg_type) for m in capture.messages if ours(m)}
    assert {
        ("shell", "to_kernel", "execute_request"),
        ("shell", "from_kernel", "execute_reply"),
        ("iopub", "from_kernel", "execute_input"),
        ("iopub", "from_kernel", "stream"),
        ("iopub", "from_kernel", "execute_result"),
        ("iopub", "from_kernel", "status"),
        ("control", "to_kernel", "kernel_info_request"),
        ("control", "from_kernel", "kernel_info_reply"),
    } <= seen
    key = key_of(tapped)
    assert capture.messages
    assert all(m.verifies(key) for m in capture.messages)
    # the tap's counts moved by exactly the frames this reader received (all is quiet now: the
    # execute's idle and both replies are in)
    after = tap_status(tap_info(tapped.connection_file))["counts"]  # type: ignore[arg-type]
    for name in ("shell>", "shell<", "control>", "control<"):
        moved = after[name]["frames"] - before[name]["frames"]
        assert moved == capture.frames.get(name, 0), name
    stats = [e for e in capture.events if e["event"] in ("hello", "stats")]
    assert stats[0]["health"] == "ok"


def test_interrupt_by_signal(tapped: Kernel) -> None:
    assert tapped.manager.kernel_spec.interrupt_mode == "signal"  # type: ignore[union-attr]
    _interrupted(tapped)


def test_interrupt_by_message(start_tap: Callable[..., Kernel]) -> None:
    kernel = start_tap(name=f"{SPEC}-message")
    assert kernel.manager.kernel_spec.interrupt_mode == "message"  # type: ignore[union-attr]
    reader = CaptureReader(kernel)
    try:
        _interrupted(kernel)
        assert reader.wait_for("interrupt_request", "control>")
        assert reader.wait_for("interrupt_reply", "control<")
    finally:
        reader.close()


#: A cell to interrupt: it says when it runs, then sleeps a minute.
SLEEPER = "print('running', flush=True)\nimport time\nfor _ in range(600): time.sleep(0.1)"


def interruptible(client: BlockingKernelClient) -> str:
    """Run :data:`SLEEPER`; its msg_id.

    ``stop_on_error=False``: the interrupted cell's error must not abort the next request.
    ipykernel 7 sends the error reply first and only then starts aborting, until a marker it
    queues behind the requests already received has passed: a request sent on that reply can
    arrive first, and be aborted.
    """
    return client.execute(SLEEPER, stop_on_error=False)


def wait_running(client: BlockingKernelClient, sent: str, timeout: float = 20) -> None:
    """Wait for the output of cell ``sent``, which it prints once it runs.

    Only then does a SIGINT interrupt the cell: ipykernel ignores SIGINT between requests, and
    one that comes while it handles the request outside IPython's ``run_cell`` (``execute_input``
    is published before it) ends the handler with "KeyboardInterrupt caught in kernel" and no
    reply at all. The kernel's own stderr at startup (debugpy's warnings) is a stream too, with
    no parent.
    """
    deadline = time.monotonic() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(0.0, deadline - time.monotonic()))
        if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == sent:
            assert msg["content"]["text"] == "running\n", msg["content"]
            return


def _interrupted(kernel: Kernel) -> None:
    client = kernel.client
    sent = interruptible(client)
    wait_running(client, sent)
    kernel.manager.interrupt_kernel()
    reply = reply_to(client, sent, timeout=20)
    assert (reply["content"]["status"], reply["content"]["ename"]) == ("error", "KeyboardInterrupt")
    assert reply_to(client, client.execute("6 * 7"))["content"]["status"] == "ok"


FLOOD = """
from comm import create_comm
flood = create_comm(target_name="jpf-flood")
for i in range(100_000):
    flood.send({"i": i})
"""


def test_a_capture_reader_that_does_not_read_never_slows_the_kernel(
    tapped: Kernel,
) -> None:
    """100,000 comm messages from the kernel while a capture SUB sits on its queue: the relay
    drops for it (counted by the tap), and a client's kernel_info_request on control is
    answered promptly all the while."""
    stalled = CaptureReader(tapped, rcvhwm=1000)  # subscribed, and it never reads again
    prober = new_client(tapped)
    try:
        before = tap_status(tap_info(tapped.connection_file))["counts"]["iopub<"]["frames"]  # type: ignore[arg-type]
        client = tapped.client
        sent = client.execute(FLOOD)
        slowest = 0.0
        done: dict[str, Any] = {}
        while not done:
            request = prober.session.msg("kernel_info_request")
            start = time.monotonic()
            prober.control_channel.send(request)
            reply = prober.get_control_msg(timeout=10)
            assert reply["parent_header"]["msg_id"] == request["header"]["msg_id"]
            slowest = max(slowest, time.monotonic() - start)
            with suppress(queue.Empty):
                done = client.get_shell_msg(timeout=0.05)
        assert done["parent_header"]["msg_id"] == sent
        assert done["content"]["status"] == "ok"
        assert slowest < 2.0, slowest
        start = time.monotonic()
        reply_to(prober, prober.kernel_info())
        assert time.monotonic() - start < 2.0

        def relayed() -> int:
            counts = tap_status(tap_info(tapped.connection_file))["counts"]  # type: ignore[arg-type]
            return int(counts["iopub<"]["frames"]) - before

        # the comm messages, each delimiter, signature and 4 parts; the reply on shell can come
        # before the flood's last messages on iopub have passed the relay
        wait_until(lambda: relayed() >= 100_000 * 6, 30, "the flood relayed on iopub")
        got = 0
        while stalled.sub.poll(0):
            stalled.sub.recv_multipart()
            got += 1
        assert got < 100_000  # the capture dropped for it instead of waiting
    finally:
        prober.stop_channels()
        stalled.close()


def test_xeus_python_through_the_tap(runtime_dir: Path, tmp_path: Path) -> None:
    """xeus-python (a test dependency, kernelspec ``xpython``): two clients, stdin, the
    heartbeat and a restart through the tap; every captured signature verifies."""
    install("xpython", prefix=tmp_path)
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    with tapped_kernels(runtime_dir, specs) as start:
        kernel = start(name="xpython-tap")
        reader = CaptureReader(kernel)
        other = new_client(kernel)
        try:
            a = kernel.client
            sent = a.execute("name = input('name? ')", allow_stdin=True)
            assert a.get_stdin_msg(timeout=20)["content"]["prompt"] == "name? "
            a.input("ada")
            assert reply_to(a, sent)["content"]["status"] == "ok"
            check = other.execute("", user_expressions={"name": "name"})
            reply = reply_to(other, check)
            assert reply["content"]["user_expressions"]["name"]["data"]["text/plain"] == "'ada'"
            assert a.hb_channel.is_beating()
            kernel.manager.restart_kernel()
            ready(a)
            reply_to(a, a.execute("1"))
            reader.wait_for("input_reply", "stdin>")
            reader.wait_for("execute_reply", "shell<", 3)
            assert all(m.verifies(key_of(kernel)) for m in reader.messages)
        finally:
            other.stop_channels()
            reader.close()
