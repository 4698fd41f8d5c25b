"""WebsocketBackend against real jupyter_servers: attach over the kernel websocket, ws and wss.

The target kernels are started through the server's REST API and driven by a separate
jupyter_client on their local connection files, so what the monitor records is what the server
forwards of another client's traffic.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import ssl
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jupyter_client import BlockingKernelClient

from jpf_widget.backends import ViewTraffic, WebsocketBackend
from jpf_widget.backends.websocket import V1_PROTOCOL, decode_v1, encode_v1
from jpf_widget.kernels import KernelNotFoundError
from jpf_widget.log import MessageLog
from jpf_widget.messages import Marker
from jpf_widget.servers import (
    TOKEN_ENV,
    JupyterServer,
    NotAJupyterServerError,
    ServerAuthError,
    ServerTLSError,
    ServerUnreachableError,
)
from jpf_widget.wire import MalformedMessage

from .conftest import wait_until
from .test_servers import Server, free_port, start_server

RATE_LIMIT = 200  # msgs/s over the server's 3 s window: a burst of 2,000 prints passes it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = start_server(
        tmp_path_factory.mktemp("remote"), f"--ServerApp.iopub_msg_rate_limit={RATE_LIMIT}"
    )
    yield started
    started.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """An https server with a self-signed certificate for 127.0.0.1, speaking JSON frames
    (its preferred websocket protocol set to the legacy one)."""
    base = tmp_path_factory.mktemp("tls")
    cert, key = base / "cert.pem", base / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
            *("ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    started = start_server(
        base,
        f"--ServerApp.certfile={cert}",
        f"--ServerApp.keyfile={key}",
        "--ZMQChannelsWebsocketConnection.kernel_ws_protocol=",
        scheme="https",
        context=ssl.create_default_context(cafile=str(cert)),
    )
    yield started, cert
    started.stop()


@pytest.fixture
def captures() -> Iterator[list[WebsocketBackend]]:
    """Captures a test starts; all are closed after it."""
    started: list[WebsocketBackend] = []
    yield started
    for capture in started:
        capture.close()
        assert not capture.alive


def attach(
    captures: list[WebsocketBackend], server: Server, target: str, **kwargs: object
) -> tuple[WebsocketBackend, MessageLog]:
    log = MessageLog()
    capture = WebsocketBackend.connect(
        target,
        log,
        server=server.url,
        token=server.token,
        poll_interval=0.3,
        **kwargs,  # type: ignore[arg-type]
    )
    captures.append(capture)
    capture.start()
    wait_until(
        lambda: capture.state == "connected" and capture.kernel_info is not None,
        30,
        "connected with kernel info",
    )
    return capture, log


def execute(server: Server, kernel_id: str, code: str) -> str:
    """Run ``code`` through a client of our own on the kernel's local connection file."""
    client = BlockingKernelClient(
        connection_file=str(server.runtime_dir / f"kernel-{kernel_id}.json")
    )
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(30)
        reply = client.execute_interactive(code, timeout=30, output_hook=lambda _m: None)
    finally:
        client.stop_channels()
    return str(reply["parent_header"]["msg_id"])


def idle_seen(log: MessageLog, request_id: str) -> Callable[[], bool]:
    return lambda: any(
        m.msg_type == "status" and m.content.get("execution_state") == "idle"
        for m in log.thread(request_id)
    )


def markers(log: MessageLog, kind: str) -> list[Marker]:
    return [e for e in log.entries_after(-1) if isinstance(e, Marker) and e.kind == kind]


VIEW_COMM = "jpf-view-under-test"
WORKLOAD = f"""
from comm import create_comm
c = create_comm(target_name="jpf-test", comm_id="{VIEW_COMM}")
c.send({{"x": 1}})
print("hello remote")
"""


def test_attach_by_notebook_name_records_another_clients_execute(
    server: Server, captures: list[WebsocketBackend]
) -> None:
    kernel_id = server.start_session("notes/analysis.ipynb")
    view = ViewTraffic()
    view.comm_ids.add(VIEW_COMM)
    capture, log = attach(captures, server, "analysis.ipynb", view_traffic=view)
    assert capture.kernel_id == kernel_id
    connection = capture.connection()
    assert connection["protocol"] == V1_PROTOCOL
    assert connection["notebook"] == "notes/analysis.ipynb"
    assert connection["websocket"].startswith(f"ws://127.0.0.1:{server.url.split(':')[2]}")
    assert server.token not in json.dumps(connection) + repr(capture)
    assert capture.kernel_info is not None
    assert capture.kernel_info["implementation"] == "ipython"
    # Each websocket has its own shell socket on the server: every kernel_info_reply answers one
    # of our requests. There can be more than one: when the server's last_activity moves between
    # two polls while this websocket heard nothing (the server's nudges at connect), we ask again.
    replies = log.of_type("kernel_info_reply")
    assert replies
    assert all(r.channel == "shell" and r.parent_id in capture.own_requests for r in replies)

    # as if this process were that kernel: view traffic is only looked for in one's own kernel
    view.kernel_session = capture.kernel_session
    # The server's attach-time traffic (its nudges' kernel_info requests on transient shell and
    # control sockets) has shown as one lost number in 2 of about 35 runs; the execute below
    # must add none.
    lost_at_attach = capture.loss.lost
    assert lost_at_attach <= 1
    request_id = execute(server, kernel_id, WORKLOAD)
    wait_until(idle_seen(log, request_id), 15, "the execute's idle status")
    thread = log.thread(request_id)
    types = [m.msg_type for m in thread]
    assert types[0] == "status"
    assert thread[0].content["execution_state"] == "busy"
    assert "execute_input" in types
    assert all(m.channel == "iopub" for m in thread)
    streams = [m for m in thread if m.msg_type == "stream"]
    assert "".join(m.content["text"] for m in streams) == "hello remote\n"
    assert log.comm(VIEW_COMM) == []
    assert log.stats()["own_view_traffic"] == 2  # comm_open and comm_msg
    assert capture.loss.available
    assert capture.loss.lost == lost_at_attach
    assert capture.restarts == 0


def test_attach_by_id_follows_reconnect_restart_and_shutdown(
    server: Server, captures: list[WebsocketBackend]
) -> None:
    kernel_id = server.start_kernel()
    capture, log = attach(captures, server, kernel_id)
    changes = capture.changes

    # a dropped websocket is reconnected (closed here from our side: the server's way of
    # dropping one is a network failure)
    loop, ws = capture._loop, capture._ws
    assert loop is not None
    assert ws is not None
    loop.call_soon_threadsafe(ws.close)
    wait_until(lambda: markers(log, "reconnected"), 15, "a reconnection")
    wait_until(lambda: capture.state == "connected", 15, "connected again")

    server.api("POST", f"api/kernels/{kernel_id}/restart")
    wait_until(lambda: capture.restarts == 1, 30, "the restart")
    assert len(markers(log, "restart")) == 1
    wait_until(lambda: len(log.of_type("kernel_info_reply")) >= 3, 30, "kernel info again")
    assert all(m.channel == "shell" for m in log.of_type("kernel_info_reply"))
    wait_until(lambda: capture.state == "connected", 15, "connected after the restart")
    assert capture.changes > changes

    server.api("DELETE", f"api/kernels/{kernel_id}")
    wait_until(lambda: capture.state == "dead", 15, "dead")
    assert f"no kernel {kernel_id}" in capture.detail
    assert markers(log, "dead")
    capture.close()
    assert capture.state == "closed"
    capture.close()  # idempotent


def test_server_rate_limit_is_shown_and_counted(
    server: Server, captures: list[WebsocketBackend]
) -> None:
    kernel_id = server.start_kernel()
    capture, log = attach(captures, server, kernel_id)
    request_id = execute(server, kernel_id, "for i in range(2000): print(i, flush=True)")
    wait_until(idle_seen(log, request_id), 20, "the burst's idle status")
    found = markers(log, "rate_limit")
    assert found
    assert found[0].text.startswith("IOPub message rate exceeded.")
    warnings = [
        m
        for m in log.of_type("stream")
        if m.content.get("name") == "stderr" and "rate exceeded" in m.content.get("text", "")
    ]
    assert len(warnings) == len(found)
    assert capture.loss.lost > 0  # the server dropped them; the kernel's counter shows it
    assert log.stats()["lost"] == capture.loss.lost


def test_tls_with_ca_bundle_and_json_frames(
    tls_server: tuple[Server, Path], captures: list[WebsocketBackend]
) -> None:
    server, cert = tls_server
    kernel_id = server.start_session("secure.ipynb")
    capture, log = attach(captures, server, "secure", ca_bundle=str(cert))
    assert capture.connection()["protocol"] == "json"
    assert capture.connection()["websocket"].startswith("wss://")
    request_id = execute(server, kernel_id, "print('over tls')")
    wait_until(idle_seen(log, request_id), 15, "the execute's idle status")
    streams = [m for m in log.thread(request_id) if m.msg_type == "stream"]
    assert "".join(m.content["text"] for m in streams) == "over tls\n"
    assert log.of_type("kernel_info_reply")[0].channel == "shell"


def test_tls_without_ca_bundle_is_refused(tls_server: tuple[Server, Path], tmp_path: Path) -> None:
    server, _cert = tls_server
    with pytest.raises(ServerTLSError, match="ca_bundle") as caught:
        WebsocketBackend.connect("x", MessageLog(), server=server.url, token=server.token)
    assert "certificate verif" in str(caught.value)
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(ServerTLSError, match="no usable certificate"):
        WebsocketBackend.connect(
            "x", MessageLog(), server=server.url, token=server.token, ca_bundle=str(not_pem)
        )
    assert JupyterServer(server.url, server.token, verify=False).check()
    with pytest.raises(NotAJupyterServerError, match="https"):
        WebsocketBackend.connect(
            "x", MessageLog(), server=server.url.replace("https", "http"), token=server.token
        )


# -- failures say what to do --------------------------------------------------------------------


def test_wrong_or_missing_token(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ServerAuthError, match="403") as caught:
        WebsocketBackend.connect("x", MessageLog(), server=server.url, token="wrong-token-123")
    assert "refused the token" in str(caught.value)
    assert "wrong-token-123" not in str(caught.value)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(ServerAuthError, match="needs a token") as caught:
        WebsocketBackend.connect("x", MessageLog(), server=server.url)
    assert TOKEN_ENV in str(caught.value)


def test_unknown_kernel_lists_the_servers_kernels(server: Server) -> None:
    known = server.start_session("listed.ipynb")
    unknown = str(uuid.uuid4())
    with pytest.raises(KernelNotFoundError) as caught:
        WebsocketBackend.connect(unknown, MessageLog(), server=server.url, token=server.token)
    message = str(caught.value)
    assert f"has no kernel {unknown}" in message
    assert known in message
    assert "listed.ipynb" in message
    with pytest.raises(KernelNotFoundError, match=r"listed\.ipynb"):
        WebsocketBackend.connect("nope.ipynb", MessageLog(), server=server.url, token=server.token)


def test_refused_port_and_wrong_base_url(server: Server) -> None:
    with pytest.raises(ServerUnreachableError, match="connection refused"):
        WebsocketBackend.connect("x", MessageLog(), server=f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(NotAJupyterServerError, match="base URL"):
        WebsocketBackend.connect("x", MessageLog(), server=server.url + "user/me/", token="t")
    with pytest.raises(NotAJupyterServerError, match="not a server URL"):
        WebsocketBackend.connect("x", MessageLog(), server="127.0.0.1:8888")


class _Forbidding(http.server.BaseHTTPRequestHandler):
    """Answers 403 with the message a Jupyter server gives for an origin or xsrf refusal."""

    def do_GET(self) -> None:
        message = (
            "'_xsrf' argument missing from POST"
            if "xsrf" in self.path
            else "Blocking Cross Origin API request for /api/kernels."
        )
        body = json.dumps({"message": message, "reason": None}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize(("path", "says"), [("xsrf/", "_xsrf"), ("origin/", "allow_origin")])
def test_403_says_whether_origin_or_xsrf(path: str, says: str) -> None:
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Forbidding)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{stub.server_address[1]}/{path}"
        with pytest.raises(ServerAuthError, match=says):
            WebsocketBackend.connect("x", MessageLog(), server=url, token="t")
    finally:
        stub.shutdown()
        stub.server_close()
        thread.join(5)


# -- the v1 websocket framing -------------------------------------------------------------------


@given(
    channel=st.sampled_from(["iopub", "shell", "control", "stdin"]),
    parts=st.lists(st.binary(max_size=64), min_size=4, max_size=7),
)
def test_v1_round_trip(channel: str, parts: list[bytes]) -> None:
    assert decode_v1(encode_v1(channel, parts)) == (channel, parts)


@given(data=st.binary(max_size=200))
def test_v1_garbage_is_malformed_never_a_crash(data: bytes) -> None:
    try:
        channel, parts = decode_v1(data)
    except MalformedMessage:
        return
    assert isinstance(channel, str)
    assert all(isinstance(part, bytes) for part in parts)


def test_a_killed_kernel_is_restarted_by_the_server(
    server: Server, captures: list[WebsocketBackend]
) -> None:
    kernel_id = server.start_kernel()
    capture, log = attach(captures, server, kernel_id)
    pid = capture.loss.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # the server's restarter notices within a few seconds and says so on iopub
    wait_until(lambda: capture.restarts == 1, 30, "the automatic restart")
    restarting = [
        m for m in log.of_type("status") if m.content.get("execution_state") == "restarting"
    ]
    assert restarting
    wait_until(lambda: capture.state == "connected", 15, "connected after the restart")
