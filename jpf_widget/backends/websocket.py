"""The websocket back end: a kernel reached through a Jupyter server's REST API and kernel
websocket, no ZMQ, no key.

:class:`WebsocketBackend` is what :class:`~jpf_widget.backends.zmq.ZmqBackend` is for a kernel
one can only reach through a server (a remote machine, JupyterHub, a container). It records into
the same :class:`~jpf_widget.log.MessageLog`, with the same states, so the widget shows the same
view.

One daemon thread runs its own asyncio loop (never the notebook's) and holds one websocket::

    {ws|wss}://host:port/base/api/kernels/{kernel_id}/channels?session_id={ours}
    Authorization: token <token>                 (the token never leaves the headers)
    Sec-WebSocket-Protocol: v1.kernel.websocket.jupyter.org

With that subprotocol every websocket message is binary: the kernel's frames as they left it,
after a table of little-endian 64-bit offsets::

    [n][offset_0 ... offset_{n-1}][channel][header][parent][metadata][content][buffer...]

(``n`` 64-bit numbers after ``n`` itself; ``offset_0`` is where the channel's name starts, the
last one is the message's end.)

A server that does not select it speaks JSON: one text message per kernel message,
``{"channel": "iopub", "header": {...}, "parent_header": {...}, "metadata": {...},
"content": {...}}`` (binary with a big-endian 32-bit offset table when there are buffers).
Either way the header, parent, metadata and content become a :class:`~jpf_widget.wire.Frames`
with an empty signature (the server checked the kernel's HMAC; we never see the key).

What the server adds on iopub carries our ``session_id`` as its header's ``session``:
``status`` ``restarting`` / ``dead`` (its restarter) and, when it drops iopub messages for this
connection, a ``stream`` on ``stderr`` starting ``IOPub message rate exceeded.`` (or ``data
rate``), recorded with a ``rate_limit`` marker. The kernel's own msg_ids pass through unchanged,
so :class:`~jpf_widget.backends.loss.LossDetector` counts what the server dropped. Each
websocket gets its own shell socket on the server, so the only shell messages are replies to our
``kernel_info_request`` (sent on connect and after a restart). ``GET api/kernels/{id}`` every
~2 s follows the server's ``execution_state``; a 404 means the kernel is gone (*dead*). A restart
through the REST API is not announced: the kernel's ``shutdown_reply`` (``restart: true``) says
it, and when the server's ``last_activity`` moved while we heard nothing (the new kernel's first
messages passed before the server's sockets reached it) a ``kernel_info_request`` asks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import ssl
import struct
import time
import uuid
from typing import Any

import orjson
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from ..log import MessageLog
from ..messages import Message, make_message
from ..servers import (
    TOKEN_ENV,
    JupyterServer,
    match_kernel,
)
from ..wire import DELIMITER, Frames, MalformedMessage, Signer, split_frames
from .base import BackendBase, CaptureMode, ViewTraffic

__all__ = ["V1_PROTOCOL", "WebsocketBackend", "decode_v1", "encode_v1"]

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MAX_MESSAGE = 1 << 30  # tornado's default of 10 MiB would drop a big display_data
_FIRST_RETRY, _LAST_RETRY = 0.5, 10.0
_RATE_LIMIT = ("IOPub message rate exceeded", "IOPub data rate exceeded")
_RESTARTING = ("restarting", "autorestarting")
_REPLY_PATIENCE = 5.0  # seconds of unanswered kernel_info_requests before a new websocket


def encode_v1(channel: str, parts: list[bytes]) -> bytes:
    """One websocket message in the v1 protocol: offsets, channel, then the parts."""
    name = channel.encode()
    offsets = [8 * (len(parts) + 3)]
    for chunk in (name, *parts):
        offsets.append(offsets[-1] + len(chunk))
    table = struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets)
    return b"".join((table, name, *parts))


def decode_v1(data: str | bytes) -> tuple[str, list[bytes]]:
    """``(channel, parts)`` of a v1 websocket message.

    Raises
    ------
    MalformedMessage
        a text message, or an offset table that does not fit the message.
    """
    if isinstance(data, str):
        raise MalformedMessage("text message on a v1 websocket")
    if len(data) < 8:
        raise MalformedMessage("v1 websocket message shorter than its offset count")
    (count,) = struct.unpack_from("<Q", data)
    if count < 2 or 8 * (count + 1) > len(data):
        raise MalformedMessage(f"v1 websocket message with {count} offsets does not fit")
    offsets = struct.unpack_from(f"<{count}Q", data, 8)
    if list(offsets) != sorted(offsets) or offsets[-1] > len(data):
        raise MalformedMessage("v1 websocket message offsets out of order or past its end")
    chunks = [data[a:b] for a, b in itertools.pairwise(offsets)]
    return chunks[0].decode("utf-8", "replace"), chunks[1:]


def _decode_json(data: str | bytes) -> tuple[str, list[bytes]]:
    """``(channel, parts)`` of a JSON-protocol websocket message (text, or binary with buffers)."""
    buffers: list[bytes] = []
    if isinstance(data, bytes):
        if len(data) < 4:
            raise MalformedMessage("binary websocket message shorter than its buffer count")
        (count,) = struct.unpack_from("!I", data)
        if count < 1 or 4 * (count + 1) > len(data):
            raise MalformedMessage(f"binary websocket message with {count} buffers does not fit")
        offsets = struct.unpack_from(f"!{count}I", data, 4)
        chunks = [data[a:b] for a, b in itertools.pairwise((*offsets, len(data)))]
        data, buffers = chunks[0], chunks[1:]
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage(f"websocket message is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MalformedMessage("websocket message is not a JSON object")
    parts = [
        orjson.dumps(message.get(name) or {})
        for name in ("header", "parent_header", "metadata", "content")
    ]
    return str(message.get("channel") or "shell"), parts + buffers


class WebsocketBackend(BackendBase):
    """Attach to one kernel through a Jupyter server and record what it says into ``log``.

    Make one with :meth:`connect`, which checks the server and finds the kernel (raising a
    :class:`~jpf_widget.kernels.TargetError` that says what to do), then :meth:`start` it.
    It is a :class:`~jpf_widget.backends.base.Backend`.

    Parameters
    ----------
    server : JupyterServer
        The server's REST client (it holds the token).
    kernel_id : str
        The kernel's full id on that server.
    log : MessageLog
        Where messages go.
    kernel_name, path : str
        Shown in :meth:`connection` (the kernel spec's name, the notebook's path).
    view_traffic : ViewTraffic, optional
        Traffic of jpf_widget's own views, not to be recorded.
    poll_interval : float
        Seconds between ``GET api/kernels/{id}``.
    """

    def __init__(
        self,
        server: JupyterServer,
        kernel_id: str,
        log: MessageLog,
        *,
        kernel_name: str = "",
        path: str = "",
        view_traffic: ViewTraffic | None = None,
        poll_interval: float = 2.0,
    ) -> None:
        super().__init__(log, view_traffic, f"jpf-remote-{kernel_id[:8]}")
        self.server = server
        self.kernel_id = kernel_id
        self.kernel_name = kernel_name
        self.path = path
        # a restart was signalled and the new kernel's kernel_info_reply has not come: until it
        # does, each poll asks again (a request sent while the server reconnects can be lost)
        self._awaiting_info = False
        self._awaited = 0  # polls since we began waiting for that reply
        self.protocol = ""
        self._poll_interval = poll_interval
        self._session = uuid.uuid4().hex  # ours; the server stamps it on what it adds
        self._requests = Signer(b"")  # unsigned: the server signs what it forwards
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[None] | None = None
        self._ws: WebSocketClientConnection | None = None
        self._connections = 0
        self._heard = 0  # messages from the kernel so far

    @classmethod
    def connect(
        cls,
        target: str,
        log: MessageLog,
        *,
        server: str | JupyterServer,
        token: str | None = None,
        ca_bundle: str | None = None,
        verify: bool = True,
        timeout: float = 5.0,
        view_traffic: ViewTraffic | None = None,
        poll_interval: float = 2.0,
    ) -> WebsocketBackend:
        """Check the server, find the kernel ``target`` names there, and make its capture.

        ``target`` is a kernel id, a unique id prefix, a notebook path or a unique notebook
        name. ``token`` None means a ``?token=`` in ``server``, else ``$JUPYTER_TOKEN``, else the
        token of this machine's server at that URL. Nothing runs until :meth:`start`.

        Raises
        ------
        ServerAuthError, ServerUnreachableError, ServerTLSError, NotAJupyterServerError
            a 403 (saying whether token, origin or xsrf), nothing listening, a certificate
            that does not verify (naming ``ca_bundle``), a URL that is not a Jupyter server's.
        KernelNotFoundError, AmbiguousKernelError
            listing the kernels the server has.
        """
        client = (
            server
            if isinstance(server, JupyterServer)
            else JupyterServer(server, token, ca_bundle=ca_bundle, verify=verify, timeout=timeout)
        )
        client.check()
        text = target.strip()
        if _UUID.match(text):
            client.kernel(text)  # its 404 says "no kernel <id>", listing those there are
        kernel = match_kernel(text, client.server_kernels(), f"on the server at {client.url}")
        return cls(
            client,
            kernel.kernel_id,
            log,
            kernel_name=kernel.kernel_name,
            path=kernel.path,
            view_traffic=view_traffic,
            poll_interval=poll_interval,
        )

    def __repr__(self) -> str:
        return (
            f"WebsocketBackend(server={self.server.url!r}, kernel_id={self.kernel_id!r}, "
            f"state={self.state!r})"
        )

    @property
    def capture(self) -> CaptureMode:
        return "server"

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Close the websocket and stop the thread (idempotent)."""
        self._stop.set()
        with self._lock:
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(task.cancel)
        super().close(timeout)

    def websocket_url(self) -> str:
        """The kernel's websocket (the token goes in a header, not here)."""
        return self.server.ws_url(
            f"api/kernels/{self.kernel_id}/channels?session_id={self._session}"
        )

    def connection(self) -> dict[str, Any]:
        """What may be shown about the connection (never the token)."""
        return {
            "transport": "websocket",
            "server_url": self.server.url,
            "kernel_id": self.kernel_id,
            "kernel_name": self.kernel_name,
            "notebook": self.path,
            "protocol": self.protocol,
            "websocket": self.websocket_url(),
        }

    # -- the thread -----------------------------------------------------------------------------

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            with self._lock:
                self._loop = loop
                self._task = loop.create_task(self._main())
            if self._stop.is_set():
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        http = AsyncHTTPClient(force_instance=True)
        tasks = [
            asyncio.ensure_future(self._connect_forever()),
            asyncio.ensure_future(self._poll_forever(http)),
        ]
        try:
            # each returns only when the kernel is gone from the server
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._close_websocket()
            http.close()

    async def _close_websocket(self) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        ws.close()

        async def closed() -> None:
            while await ws.read_message() is not None:
                pass

        with contextlib.suppress(asyncio.TimeoutError):
            # the server answers the close frame; then the socket is really closed
            await asyncio.wait_for(closed(), 2)

    async def _connect_forever(self) -> None:
        delay = _FIRST_RETRY
        while True:
            try:
                ws = await websocket_connect(
                    HTTPRequest(
                        self.websocket_url(),
                        headers=self.server.headers(),
                        ssl_options=self.server.ssl_context(),
                        connect_timeout=self.server.timeout,
                        request_timeout=self.server.timeout,
                    ),
                    subprotocols=[V1_PROTOCOL],
                    max_message_size=_MAX_MESSAGE,
                    ping_interval=10,
                    ping_timeout=10,
                )
            except HTTPClientError as exc:
                if exc.code == 404:
                    self._gone()
                    return
                why = self._refused(exc)
            except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
                why = f"cannot reach the server at {self.server.url} ({_reason(exc)})"
            else:
                delay = _FIRST_RETRY
                await self._read(ws)
                why = "lost the websocket to the server"
            if self.state != "dead":  # a dead kernel stays dead until it speaks again
                self._set_state("connecting", f"{why}: retrying in {delay:g} s")
            await asyncio.sleep(delay)
            delay = min(2 * delay, _LAST_RETRY)

    def _refused(self, exc: HTTPClientError) -> str:
        if exc.code == 403:
            return (
                "the server refused the websocket (403): its token, the origin or xsrf "
                f"(pass the token, or set ${TOKEN_ENV})"
            )
        return f"the server answered {exc.code} to the websocket"

    async def _read(self, ws: WebSocketClientConnection) -> None:
        """Read the websocket until it closes."""
        self._ws = ws
        self.protocol = ws.selected_subprotocol or "json"
        self._connections += 1
        if self._connections > 1:
            self.log.add_marker("reconnected", f"reconnected to {self.server.url}")
        self._set_state("connected", "")
        self._send_kernel_info_request()
        decode = decode_v1 if self.protocol == V1_PROTOCOL else _decode_json
        while True:
            data = await ws.read_message()
            if data is None:
                break
            try:
                channel, parts = decode(data)
                frames = split_frames([DELIMITER, b"", *parts])
            except MalformedMessage:
                self.log.count_problem("malformed")
                continue
            self._record(channel, frames)
        self._ws = None

    def _record(self, channel: str, frames: Frames) -> None:
        header, parent = frames.header, frames.parent_header
        from_server = header.get("session") == self._session
        if not from_server:
            lost = self.loss.lost
            own = parent.get("msg_id") in self.own_requests
            self.loss.feed(header["msg_id"], header["msg_type"], channel, parent, own)
            if self.loss.lost != lost:
                self.log.set_problem("lost", self.loss.lost)
        if self.view_traffic is not None and self.view_traffic.covers(frames):
            self.log.count_problem("own_view_traffic")
            return
        for record in self.log.add_many(channel, [frames]):
            message = make_message(record)
            if from_server:
                self._observe_server(message)
            else:
                self._observe(message)

    def _observe_server(self, message: Message) -> None:
        """What the server itself says: its restarter's status, its rate limit."""
        if message.msg_type == "status":
            state = message.content.get("execution_state")
            if state == "restarting":
                self._set_state("restarting", "the server is restarting the kernel")
                self._awaiting_info = True
                self._send_kernel_info_request()
            elif state == "dead":
                self._enter_dead("the server could not restart the kernel: it is dead")
        elif message.msg_type == "stream":
            text = str(message.content.get("text", ""))
            if text.startswith(_RATE_LIMIT):
                self.log.add_marker(
                    "rate_limit",
                    f"{text.splitlines()[0]} The server drops this monitor's iopub messages "
                    "until the rate falls (ServerApp.iopub_msg_rate_limit, "
                    "iopub_data_rate_limit); the loss count shows how many.",
                )

    def _observe(self, message: Message) -> None:
        """Follow the kernel's life through what it says: kernel info, restarts."""
        if message.channel == "shell" and message.msg_type == "kernel_info_reply":
            self._awaiting_info = False
        restarted = self._observe_kernel(message)
        if restarted is None:
            return
        self._heard += 1
        if message.msg_type == "shutdown_reply" and message.content.get("restart"):
            # a restart through the REST API is not announced by the server, and the new
            # kernel's first words can pass before the server's sockets reach it
            self._set_state("restarting", "the kernel is restarting")
            self._awaiting_info = True
        if restarted:
            self._awaiting_info = True
            self._send_kernel_info_request()
        if self._ws is not None and self.state in ("restarting", "dead", "unresponsive"):
            self._set_state("connected", "")

    async def _poll_forever(self, http: AsyncHTTPClient) -> None:
        """Follow the server's view of the kernel; return when the server no longer has it."""
        silent_since = 0.0
        activity, heard = None, self._heard
        while True:
            await asyncio.sleep(self._poll_interval)
            request = HTTPRequest(
                self.server.url + f"api/kernels/{self.kernel_id}",
                headers=self.server.headers(),
                ssl_options=self.server.ssl_context(),
                connect_timeout=self.server.timeout,
                request_timeout=self.server.timeout,
            )
            try:
                response = await http.fetch(request, raise_error=False)
            except (OSError, ssl.SSLError, asyncio.TimeoutError):
                response = None
            if response is None or response.code == 599:
                silent_since = silent_since or time.monotonic()
                silent = time.monotonic() - silent_since
                if self._ws is not None and self.state == "connected" and silent > 5:
                    self._set_state(
                        "unresponsive", f"the server has not answered for {silent:.0f} s"
                    )
                continue
            silent_since = 0.0
            if response.code == 404:
                self._gone()
                return
            if response.code != 200:
                continue
            with contextlib.suppress(orjson.JSONDecodeError, TypeError, AttributeError):
                model = orjson.loads(response.body)
                self._judge(model)
                moved = activity is not None and model.get("last_activity") != activity
                if moved and self._heard == heard and self._ws is not None:
                    # the server heard the kernel since the last poll and we did not: a
                    # restart whose first words we missed; the new kernel waits to be asked
                    self._awaiting_info = True
                activity, heard = model.get("last_activity"), self._heard
            if self.state == "restarting" or self._awaiting_info:
                # a kernel that restarted while no one talked to it says nothing on its own,
                # and a request sent while it was still starting can go unanswered
                self._send_kernel_info_request()
                self._awaited += 1
                if self._awaited * self._poll_interval > _REPLY_PATIENCE and self._ws is not None:
                    # still no answer: the server's link to the new kernel is stale for this
                    # websocket; a new websocket gets new sockets (the reconnect sends again)
                    self._awaited = 0
                    self._ws.close()
            else:
                self._awaited = 0

    def _judge(self, model: dict[str, Any]) -> None:
        """Take the server's ``execution_state`` into account."""
        state = model.get("execution_state")
        if state == "dead":
            reason = model.get("reason") or "the server says the kernel is dead"
            self._enter_dead(str(reason))
        elif state in _RESTARTING:
            self._set_state("restarting", "the server is restarting the kernel")
            self._awaiting_info = True
        elif self._ws is not None and self.state in ("restarting", "unresponsive"):
            self._set_state("connected", "")

    def _gone(self) -> None:
        self._enter_dead(f"the server has no kernel {self.kernel_id} any more (it was shut down)")

    def _send_kernel_info_request(self) -> None:
        ws = self._ws
        if ws is None:
            return
        msg_id, frames = self._requests.request("kernel_info_request", self._session)
        self.own_requests.add(msg_id)
        header, parent, metadata, content = frames[2:]
        if self.protocol == V1_PROTOCOL:
            ws.write_message(encode_v1("shell", [header, parent, metadata, content]), binary=True)
        else:
            ws.write_message(
                b'{"channel":"shell","header":%s,"parent_header":%s,"metadata":%s,"content":%s}'
                % (header, parent, metadata, content)
            )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
