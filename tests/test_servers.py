"""Discovery through real jupyter_servers: their kernels, their notebooks, names that resolve.

A jupyter_server runs on 127.0.0.1 with a token and its own config, data, runtime and root
dirs; kernels and sessions are started through its REST API. The helpers here are shared with
``test_remote.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jpf_widget.kernels import AmbiguousKernelError, KernelNotFoundError
from jpf_widget.servers import (
    TOKEN_ENV,
    JupyterServer,
    ServerAuthError,
    ServerKernel,
    find_by_notebook,
    running_servers,
    server_kernels,
)

from .conftest import wait_until

SERVER_START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A jupyter_server process of the test's own, and its REST API."""

    url: str
    token: str
    base: Path
    runtime_dir: Path
    root: Path
    proc: subprocess.Popen[bytes]
    context: Any = None  # an ssl.SSLContext for an https server

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
            data = response.read()
        return json.loads(data) if data else None

    def start_kernel(self) -> str:
        return str(self.api("POST", "api/kernels", {"name": "python3"})["id"])

    def start_session(self, path: str) -> str:
        model = self.api(
            "POST",
            "api/sessions",
            {"path": path, "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        )
        return str(model["kernel"]["id"])

    def stop(self) -> None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            for kernel in self.api("GET", "api/kernels"):
                self.api("DELETE", f"api/kernels/{kernel['id']}")
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self) -> str:
        return (self.base / "server.log").read_text(errors="replace")[-3000:]


def start_server(base: Path, *extra: str, scheme: str = "http", context: Any = None) -> Server:
    """Start a jupyter_server with a token in dirs of its own; wait until it answers."""
    dirs = {name: base / name.lower() for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")}
    dirs["JUPYTER_RUNTIME_DIR"] = base / "runtime"
    root = base / "root"
    for folder in (*dirs.values(), root):
        folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
    env.pop(TOKEN_ENV, None)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.terminals_enabled=False",
        *(["--allow-root"] if os.getuid() == 0 else []),
        *extra,
    ]
    with (base / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(
        f"{scheme}://127.0.0.1:{port}/", token, base, dirs["JUPYTER_RUNTIME_DIR"], root, proc
    )
    server.context = context

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "api/status")
        except (OSError, urllib.error.URLError):
            return False
        return any(server.runtime_dir.glob("jpserver-*.json"))

    try:
        wait_until(answers, SERVER_START_TIMEOUT, f"the server on port {port}")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One token-protected server for the module."""
    started = start_server(tmp_path_factory.mktemp("server"))
    yield started
    started.stop()


# -- discovery --------------------------------------------------------------------------------


def test_server_kernels_lists_kernels_with_their_notebooks(server: Server) -> None:
    with_notebook = server.start_session("work/analysis.ipynb")
    bare = server.start_kernel()
    kernels = {k.kernel_id: k for k in server_kernels(server.runtime_dir)}
    assert {with_notebook, bare} <= set(kernels)
    found = kernels[with_notebook]
    assert found.path == "work/analysis.ipynb"
    assert found.kernel_name == "python3"
    assert found.server_url == server.url
    assert found.execution_state in ("starting", "idle", "busy")
    assert found.connections >= 0
    assert found.last_activity
    assert found.connection_file == str(server.runtime_dir / f"kernel-{with_notebook}.json")
    assert Path(found.connection_file).is_file()
    assert kernels[bare].path == ""
    assert "token" not in repr(found)


def test_dead_and_silent_servers_are_skipped_quietly(server: Server, tmp_path: Path) -> None:
    for path in server.runtime_dir.glob("jpserver-*.json"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"jpserver-{dead.pid}.json").write_text(
        json.dumps({"url": "http://127.0.0.1:9/", "token": "x", "pid": dead.pid})
    )
    # alive (our own pid) but nothing listens on its port
    (tmp_path / "nbserver-1.json").write_text(
        json.dumps({"url": f"http://127.0.0.1:{free_port()}/", "token": "x", "pid": os.getpid()})
    )
    (tmp_path / "jpserver-2.json").write_text("{not json")
    urls = [info.url for info in running_servers(tmp_path)]
    assert server.url in urls
    assert "http://127.0.0.1:9/" not in urls
    assert len(urls) == 2
    kernels = server_kernels(tmp_path, timeout=1)
    assert kernels
    assert {k.server_url for k in kernels} == {server.url}
    assert all(k.connection_file == "" for k in kernels)  # not in this runtime dir


def test_find_by_notebook_by_path_and_unique_name(server: Server) -> None:
    kernel_id = server.start_session("projects/deep/results.ipynb")
    for name in (
        "projects/deep/results.ipynb",
        "/projects/deep/results.ipynb",
        "deep/results.ipynb",
        "results.ipynb",
        "results",
    ):
        assert find_by_notebook(name, server.runtime_dir).kernel_id == kernel_id, name


def test_find_by_notebook_ambiguous_lists_the_candidates(server: Server) -> None:
    first = server.start_session("a/report.ipynb")
    second = server.start_session("b/report.ipynb")
    with pytest.raises(AmbiguousKernelError) as caught:
        find_by_notebook("report.ipynb", server.runtime_dir)
    message = str(caught.value)
    assert "a/report.ipynb" in message
    assert "b/report.ipynb" in message
    assert first in message
    assert second in message
    assert "full path" in message
    assert find_by_notebook("b/report.ipynb", server.runtime_dir).kernel_id == second


def test_find_by_notebook_not_found_lists_the_sessions(server: Server) -> None:
    server.start_session("listed/here.ipynb")
    with pytest.raises(KernelNotFoundError) as caught:
        find_by_notebook("missing.ipynb", server.runtime_dir)
    message = str(caught.value)
    assert "missing.ipynb" in message
    assert "listed/here.ipynb" in message
    assert server.token not in message


def test_find_by_notebook_without_servers_says_so(tmp_path: Path) -> None:
    with pytest.raises(KernelNotFoundError, match="no running Jupyter server") as caught:
        find_by_notebook("analysis.ipynb", tmp_path)
    assert "server=" in str(caught.value)


def test_match_on_given_kernels_and_id_prefix() -> None:
    kernels = [
        ServerKernel("1b2c3d4e-0000", "python3", "x.ipynb", "idle", 1, "", "http://h/"),
        ServerKernel("1b2cffff-0000", "python3", "y.ipynb", "idle", 0, "", "http://h/"),
    ]
    assert find_by_notebook("1b2c3d", kernels=kernels).path == "x.ipynb"
    assert find_by_notebook("y", kernels=kernels).kernel_id == "1b2cffff-0000"
    with pytest.raises(AmbiguousKernelError):
        find_by_notebook("1b2c", kernels=kernels)


# -- the token --------------------------------------------------------------------------------


def test_token_from_env_or_url_and_never_shown(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, server.token)
    from_env = JupyterServer(server.url)
    assert from_env.check()
    from_url = JupyterServer(f"{server.url}?token={server.token}")
    assert from_url.url == server.url
    assert from_url.kernels() is not None
    for client in (from_env, from_url):
        assert server.token not in repr(client)
    monkeypatch.delenv(TOKEN_ENV)
    from_file = JupyterServer(server.url, runtime_dir=server.runtime_dir)
    assert from_file.check()
    assert server.token not in repr(from_file)
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    with pytest.raises(ServerAuthError) as caught:
        JupyterServer(server.url).check()
    assert "not-the-token" not in str(caught.value)
    assert "refused the token" in str(caught.value)
