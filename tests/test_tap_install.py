"""``jpf tap install`` / ``uninstall`` and the argv wrapper (for launchers that ignore
provisioners) with a real kernel."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpecManager
from tornado.websocket import websocket_connect

from jpf_widget.cli import main as jpf
from jpf_widget.tap import tap_info, tap_status

from .conftest import wait_until
from .test_tap import CaptureReader, interruptible, ready, reply_to


def test_jpf_tap_install_and_uninstall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = KernelSpecManager().get_kernel_spec("python3")
    assert jpf(["tap", "install", "--prefix", str(tmp_path)]) == 0
    folder = tmp_path / "share" / "jupyter" / "kernels" / "python3-tap"
    assert str(folder) in capsys.readouterr().out
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["display_name"] == f"{original.display_name} (tapped)"
    assert spec["metadata"]["kernel_provisioner"] == {"provisioner_name": "jpf-tap", "config": {}}
    assert "supported_encryption" not in spec["metadata"]
    assert spec["argv"] == [
        sys.executable,
        "-m",
        "jpf_widget.tap.wrapper",
        "-f",
        "{connection_file}",
        "--",
        *original.argv,
    ]
    assert spec["interrupt_mode"] == original.interrupt_mode
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in Path(original.resource_dir).iterdir()
    )  # the logos came along
    # Jupyter finds it there, on the provisioner
    found = KernelSpecManager(kernel_dirs=[str(folder.parent)]).get_kernel_spec("python3-tap")
    assert found.metadata["kernel_provisioner"]["provisioner_name"] == "jpf-tap"

    assert jpf(["tap", "uninstall", "--prefix", str(tmp_path)]) == 0
    assert not folder.exists()
    assert jpf(["tap", "uninstall", "--prefix", str(tmp_path)]) == 1
    assert "no kernelspec named 'python3-tap'" in capsys.readouterr().err
    # a kernelspec it did not write is left alone
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": ["x"], "display_name": "x"}))
    assert jpf(["tap", "uninstall", "--prefix", str(tmp_path)]) == 1
    assert "left alone" in capsys.readouterr().err
    assert folder.exists()
    assert jpf(["tap", "install", "--name", "no-such-kernel", "--prefix", str(tmp_path)]) == 1
    assert "no kernelspec named 'no-such-kernel'" in capsys.readouterr().err


def test_jpf_tap_install_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    assert jpf(["tap", "install"]) == 0  # --user is the default
    assert (tmp_path / "kernels" / "python3-tap" / "kernel.json").is_file()
    assert jpf(["tap", "uninstall", "--user"]) == 0
    assert not (tmp_path / "kernels" / "python3-tap").exists()


def test_the_argv_wrapper_with_a_real_kernel(tmp_path: Path, runtime_dir: Path) -> None:
    """As VS Code would run the tapped kernelspec: the wrapper relays and captures, SIGINT to
    its pid interrupts the kernel, SIGTERM ends both and leaves nothing behind."""
    public = runtime_dir / f"kernel-{uuid.uuid4()}.json"
    write_connection_file(str(public), ip="127.0.0.1", key=uuid.uuid4().hex.encode())
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    argv = ["python", "-m", "ipykernel_launcher", "-f", str(public)]
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "jpf_widget.tap.wrapper", "-f", str(public), "--", *argv],
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    client = BlockingKernelClient(connection_file=str(public))
    reader: CaptureReader | None = None
    try:
        wait_until(lambda: tap_info(public) is not None, 30, "the jpf_tap field")
        tap = tap_info(public)
        assert tap is not None
        assert (tap.launcher, tap.pid) == ("wrapper", wrapper.pid)
        (private_dir,) = scratch.iterdir()
        kernel_pid = json.loads(
            subprocess.check_output(["pgrep", "-P", str(wrapper.pid), "-f", "ipykernel"]) or b"0"
        )
        assert os.getpgid(kernel_pid) == kernel_pid != os.getpgid(wrapper.pid)
        if sys.platform == "linux":  # only its main thread, which forwards them, takes signals
            threads = _threads(wrapper.pid)
            assert _threads_blocking(wrapper.pid, signal.SIGINT) == threads - {wrapper.pid}
        reader = CaptureReader(str(public))
        _wait_for_heartbeat(public, 60)
        client.load_connection_file()
        client.start_channels()
        ready(client)
        sent = interruptible(client)
        # the cell's own output (not the kernel's startup warnings on stderr): it runs, so the
        # SIGINT interrupts it rather than the kernel between requests
        reader.wait_for("stream", "iopub<", parent=sent)
        os.kill(wrapper.pid, signal.SIGINT)  # as VS Code interrupts: the wrapper's pid only
        reply = reply_to(client, sent, timeout=20)
        assert (reply["content"]["status"], reply["content"]["ename"]) == (
            "error",
            "KeyboardInterrupt",
        )
        assert wrapper.poll() is None
        assert client.execute_interactive("6 * 7", timeout=20)["content"]["status"] == "ok"
        assert reader.wait_for("execute_request", "shell>", 2)
        assert tap_status(tap)["health"] == "ok"
        wrapper.send_signal(signal.SIGTERM)
        wrapper.wait(timeout=30)
        wait_until(lambda: not private_dir.exists(), 10, "the private directory to go")
        with pytest.raises(ProcessLookupError):
            os.kill(kernel_pid, 0)
    finally:
        if reader is not None:
            reader.close()
        client.stop_channels()
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()


def _wait_for_heartbeat(connection_file: Path, timeout: float) -> None:
    """Wait until the kernel behind ``connection_file`` echoes a heartbeat.

    ``wait_for_ready`` of a client without a KernelManager takes a kernel that is still starting
    (seconds, under load) for dead: it waits for its heartbeat channel to beat, but that channel
    starts out beating; then, when a kernel_info_request is not answered within 1 s and a ping is
    not echoed within 1 s, it raises "Kernel died before replying to kernel_info". One ping, which
    the relay holds until the kernel listens, tells when the kernel is up.
    """
    info = json.loads(connection_file.read_text())
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(f"{info['transport']}://{info['ip']}:{info['hb_port']}")
        sock.send(b"ping")
        assert sock.poll(int(timeout * 1000)), f"no heartbeat echoed in {timeout} s"
        assert sock.recv() == b"ping"
    finally:
        sock.close()
        ctx.term()


def _threads(pid: int) -> set[int]:
    return {int(tid) for tid in os.listdir(f"/proc/{pid}/task")}


def _threads_blocking(pid: int, signum: int) -> set[int]:
    """The threads of process ``pid`` that block ``signum`` (Linux's /proc)."""
    blocking = set()
    for tid in _threads(pid):
        status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        (mask,) = [line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")]
        if int(mask, 16) >> (signum - 1) & 1:
            blocking.add(tid)
    return blocking


def test_a_server_with_the_default_provisioner_taps_every_kernel(tmp_path: Path) -> None:
    """``JUPYTER_DEFAULT_PROVISIONER_NAME=jpf-tap`` (the README's way to tap every kernel of a
    server): a kernel started by jupyter_server on the plain python3 kernelspec is tapped, and
    a cell run through the server's websocket (the server's own ZMQ clients) is captured."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime = tmp_path / "runtime"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_DEFAULT_PROVISIONER_NAME": "jpf-tap",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=jpf",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}/api"

    def api(method: str, path: str, body: bytes | None = None) -> Any:
        request = urllib.request.Request(f"{base}{path}?token=jpf", data=body, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def answers() -> bool:
        try:
            api("GET", "")
        except OSError:
            return False
        return True

    try:
        wait_until(answers, 60, "the server")
        kernel_id = api("POST", "/kernels", b'{"name": "python3"}')["id"]
        public = runtime / f"kernel-{kernel_id}.json"
        wait_until(lambda: tap_info(public) is not None, 30, "a tapped connection file")
        tap = tap_info(public)
        assert tap is not None
        reader = CaptureReader(str(public))
        msg_id = uuid.uuid4().hex
        replies = asyncio.run(_execute_over_websocket(port, kernel_id, msg_id))
        assert replies["execute_reply"]["content"]["status"] == "ok"
        (request,) = [
            m for m in reader.wait_for("execute_request", "shell>") if m.header["msg_id"] == msg_id
        ]
        (reply,) = [
            m for m in reader.wait_for("execute_reply", "shell<") if m.parent["msg_id"] == msg_id
        ]
        assert request.ids == reply.ids  # the server's channel identity, both ways
        reader.close()
        folder = Path(urllib.parse.urlparse(tap.url).path).parent  # ipc://<folder>/capture
        assert folder.is_dir()
        api("DELETE", f"/kernels/{kernel_id}")
        wait_until(lambda: not public.exists(), 20, "the connection file to go")
        # and the tap's private folder, with the kernel's private connection file and its key
        wait_until(lambda: not folder.exists(), 20, "the tap's folder to go")
    finally:
        server.terminate()
        server.wait(30)
        log.close()


async def _execute_over_websocket(port: int, kernel_id: str, msg_id: str) -> dict[str, Any]:
    """Run ``6 * 7`` through the server's kernel websocket (JSON messages); the replies by
    msg_type."""
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token=jpf"
    connection = await websocket_connect(url)
    request = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": uuid.uuid4().hex,
            "username": "jpf",
            "version": "5.3",
            "date": "2026-01-01T00:00:00Z",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": "6 * 7", "silent": False, "store_history": False},
        "channel": "shell",
    }
    await connection.write_message(json.dumps(request))
    replies: dict[str, Any] = {}
    while "execute_reply" not in replies:
        text = await asyncio.wait_for(connection.read_message(), 30)
        assert isinstance(text, str)
        message = json.loads(text)
        if message.get("parent_header", {}).get("msg_id") == msg_id:
            replies[message["msg_type"]] = message
    connection.close()
    return replies
