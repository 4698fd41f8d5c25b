"""The tap back end: every client's traffic on every channel, from a tap's capture stream.

A tapped kernel's connection file names a capture socket (:mod:`jpf_widget.tap`). This back end
subscribes to it instead of iopub, and takes each message as::

    [tag, *identities, b"<IDS|MSG>", signature, header, parent_header, metadata, content, *buffers]

``tag`` gives the channel and direction (``b"shell>"``: a client to the kernel, ``b"shell<"``:
the kernel to a client; ``b"iopub<"``); the first identity of a shell, control or stdin message
is the routing id of the client it came from or goes to, which becomes the message's ``client``:
a short hash, the same in both directions and in every monitor. Subscriptions (``b"iopub>"``)
are not messages and are skipped; the tap's own events (``b"tap!"``) tell when it relayed frames
a slow reader never got, when it restarted the kernel, and when it failed or closed.

Everything else is the ZMQ back end's: signatures checked in batches, the liveness from the
heartbeat (relayed by the tap to the kernel, never answered by it), loss from the kernel's msg_id
counter (exact now: every reply is seen, none is excused). Our own ``kernel_info_request`` goes
through the tap like any client's, so its reply is taken from the capture stream, not from our
shell socket: each message is recorded once.

The tap's counts also come by asking its status socket, once a second, from the capture thread:
under a flood that the capture socket drops for us, the ``stats`` events in the stream are
dropped with the rest, and the count of what we missed would wait for the flood to end.

The answer to a password prompt (an ``input_reply`` to an ``input_request`` with
``password: true``) is masked before it is recorded: its ``value`` never reaches the log.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import zmq

from ..kernels import ConnectionInfo
from ..log import MessageLog
from ..messages import FROM_KERNEL
from ..tap import EVENT_TAG as _EVENT_TAG
from ..tap import TAGS, TapInfo, parse_event
from ..wire import Blob, Frames, MalformedMessage, split_frames
from .base import CaptureMode
from .zmq import _BIG_PART, _DRAIN_BATCH, _DRAIN_BYTES, _NOBLOCK, Route, ZmqBackend

__all__ = ["MASK", "TapBackend"]

MASK = "********"  # what a password's answer is recorded as
_SUBSCRIPTION = b"iopub>"
_STATUS_INTERVAL = 1.0  # seconds between two questions to the tap's status socket
_STATUS_PATIENCE = 5.0  # an unanswered question is given up (and asked again) after this
# Each tag's route without a client; the client is added per message
_ROUTES: dict[bytes, tuple[str, str]] = TAGS


class TapBackend(ZmqBackend):
    """Attach to a tapped kernel through its tap's capture stream.

    Parameters
    ----------
    info : ConnectionInfo
        The public connection file (the tap's ports, the kernel's key).
    tap : TapInfo
        Its ``jpf_tap`` field.
    log, **options
        As for :class:`~jpf_widget.backends.zmq.ZmqBackend` (``view_traffic``,
        ``heartbeat_interval``, ``dead_after``, ``probe_after``, ``receive_hwm``).
    """

    def __init__(self, info: ConnectionInfo, tap: TapInfo, log: MessageLog, **options: Any) -> None:
        super().__init__(info, log, **options)
        self.loss.every_reply = True  # every client's replies travel the capture stream
        self.tap = tap
        self._clients: dict[bytes, str] = {}  # routing id -> short client id
        self._secret_prompts: dict[str, str] = {}  # client -> its password input_request
        # frames taken per tag, against what the tap says it relayed (see _count_drops)
        self._frames_taken: dict[str, int] = {}
        self._hello: dict[str, tuple[int, int]] | None = None  # relayed, taken at subscription
        self._deficit: dict[str, int] = {}
        # the status socket (capture thread only): when it was last asked, and if it owes us
        self._status: zmq.Socket[bytes] | None = None
        self._status_asked = 0.0
        self._status_owed = False

    def __repr__(self) -> str:
        return f"TapBackend(kernel_id={self.kernel_id!r}, state={self.state!r})"

    @property
    def capture(self) -> CaptureMode:
        return "tap"

    def connection(self) -> dict[str, Any]:
        """What may be shown about the connection (never the key)."""
        return self.info.public() | {"tap": self.tap.url, "tap_launcher": self.tap.launcher}

    # -- the stream -----------------------------------------------------------------------------

    def _stream_url(self) -> str:
        return self.tap.url

    def _open_sockets(
        self, context: zmq.Context[zmq.Socket[bytes]]
    ) -> dict[str, zmq.Socket[bytes]]:
        sockets = super()._open_sockets(context)
        self._status = None
        if self.tap.status_url:
            status = context.socket(zmq.DEALER)
            status.setsockopt(zmq.LINGER, 0)
            status.connect(self.tap.status_url)
            # polled with the others and read in _judge, closed with the others
            sockets["tap_status"] = self._status = status
            self._status_owed = False
        return sockets

    def _take_own_replies(self, shell: zmq.Socket[bytes]) -> None:
        """Drop them: the capture stream carries them too, and a message is recorded once."""
        while True:
            try:
                shell.recv_multipart(_NOBLOCK, copy=False)
            except zmq.Again:
                return

    def _receive(
        self, sock: zmq.Socket[bytes], route: Route
    ) -> tuple[list[Frames], Route | list[Route], int]:
        batch: list[Frames] = []
        routes: list[Route] = []
        taken = self._frames_taken
        recv = sock.recv
        size = 0
        for _ in range(_DRAIN_BATCH):
            try:
                frame = recv(_NOBLOCK, copy=False)
            except zmq.Again:
                break
            head = frame.bytes
            raw: list[Blob] = []
            while frame.more:
                frame = recv(_NOBLOCK, copy=False)
                raw.append(frame.bytes if len(frame) < _BIG_PART else frame.buffer.toreadonly())
            if head == _EVENT_TAG:
                self._on_event(parse_event([head, *map(bytes, raw)]))
                continue
            tag = head.decode("ascii", "replace")
            taken[tag] = taken.get(tag, 0) + len(raw)
            if head == _SUBSCRIPTION:
                continue
            way = _ROUTES.get(head)
            if way is None or not raw:
                self.log.count_problem("malformed")
                continue
            try:
                frames = split_frames(raw)
            except MalformedMessage:
                self.log.count_problem("malformed")
                continue
            channel, direction = way
            client = "" if channel == "iopub" else self._client(bytes(raw[0]))
            batch.append(frames)
            routes.append((channel, direction, client))
            size += frames.size
            if size > _DRAIN_BYTES:
                break
        return batch, routes, size

    def _client(self, routing_id: bytes) -> str:
        """A short id for a client's routing id: stable across monitors and recordings."""
        client = self._clients.get(routing_id)
        if client is None:
            client = hashlib.blake2b(routing_id, digest_size=3).hexdigest()
            self._clients[routing_id] = client
        return client

    # -- secrets --------------------------------------------------------------------------------

    def _record(self, route: Route, batch: list[Frames]) -> None:
        channel, direction, client = route
        if channel == "stdin" and direction == FROM_KERNEL:
            for frames in batch:
                if frames.header["msg_type"] == "input_request" and _asks_password(frames):
                    self._secret_prompts[client] = frames.header["msg_id"]
        super()._record(route, batch)

    def _masked(self, route: Route, batch: list[Frames]) -> list[Frames]:
        client = route[2]
        if route[0] != "stdin" or client not in self._secret_prompts:
            return batch
        return [self._mask(client, frames) for frames in batch]

    def _mask(self, client: str, frames: Frames) -> Frames:
        """An ``input_reply`` from a client with a password prompt pending, its value masked.
        (The client decides, not the parent header: jupyter_client sends the reply with an
        empty one.)"""
        if frames.header["msg_type"] != "input_reply":
            return frames
        del self._secret_prompts[client]
        try:
            content = orjson.loads(frames.content_bytes)
        except orjson.JSONDecodeError:
            content = {}
        if not isinstance(content, dict):
            content = {}
        content["value"] = MASK
        masked = bytes(memoryview(orjson.dumps(content)))  # a copy: orjson keeps 4 KiB each
        size = frames.size - len(frames.content_bytes) + len(masked)
        return frames._replace(content_bytes=masked, size=size)

    # -- the tap's own events -------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any] | None) -> None:
        if event is None:
            self.log.count_problem("malformed")
            return
        kind = event.get("event")
        if kind in ("hello", "stats"):
            self._count_drops(event.get("counts"), hello=kind == "hello")
        elif kind == "kernel":
            moved = " on new ports" if event.get("moved") else ""
            self.log.add_marker("tap", f"the tap started the kernel again{moved}")
        elif kind == "failed":
            problems = "; ".join(str(p) for p in event.get("problems") or ()) or "unknown"
            self.log.add_marker("tap", f"the tap failed: {problems}")
            self._liveness.kernel_gone(
                f"the tap in front of the kernel failed ({problems}): clients may no longer "
                "reach the kernel; restart it"
            )
            self._publish()
        elif kind == "closing":
            self.log.add_marker("tap", "the tap is closing")

    def _count_drops(self, counts: object, hello: bool) -> None:
        """What the tap relayed that never reached us, from its frame counts.

        The tap counts the frames its kernel-side proxy passes, per tag; we count the frames
        we take. Since our subscription (``hello``), the difference is what the capture socket
        dropped for us plus what is still in flight; it is taken as a loss once it holds still
        from one report to the next."""
        if not isinstance(counts, dict):
            return
        # {"shell>": {"frames": 12, "bytes": 3456}, ...}
        relayed = {
            str(tag): value["frames"]
            for tag, value in counts.items()
            if isinstance(value, dict) and isinstance(value.get("frames"), int)
        }
        taken = self._frames_taken
        if hello or self._hello is None:
            self._hello = {tag: (n, taken.get(tag, 0)) for tag, n in relayed.items()}
            return
        deficit = {}
        for tag, n in relayed.items():
            relayed_then, taken_then = self._hello.get(tag, (0, 0))
            deficit[tag] = (n - relayed_then) - (taken.get(tag, 0) - taken_then)
        if deficit == self._deficit:
            dropped = sum(max(0, d) for d in deficit.values())
            self.log.set_problem("tap_dropped_frames", dropped)
        self._deficit = deficit

    # -- liveness -------------------------------------------------------------------------------

    def _ask_status(self, now: float) -> None:
        """Read the tap's answer if it came, and ask again every ``_STATUS_INTERVAL``."""
        status = self._status
        if status is None:
            return
        while status.poll(0):
            frames = status.recv_multipart()  # [b"", answer] through the tap's ROUTER
            self._status_owed = False
            try:
                answer = orjson.loads(frames[-1])
            except orjson.JSONDecodeError:
                continue
            # counts before our subscription's hello would not match what the stream brings
            if isinstance(answer, dict) and self._hello is not None:
                self._count_drops(answer.get("counts"), hello=False)
        waited = now - self._status_asked
        if waited >= _STATUS_INTERVAL and (not self._status_owed or waited >= _STATUS_PATIENCE):
            self._status_asked = now
            try:  # a tap that is gone must not block the capture thread
                status.send_multipart([b"", b"status"], _NOBLOCK)
                self._status_owed = True
            except zmq.Again:
                pass

    def _judge(self, now: float, shell: zmq.Socket[bytes]) -> None:
        self._ask_status(now)
        # the tap keeps the stream up when the kernel dies: a silent heartbeat and a process
        # known to be gone mean dead, not unresponsive
        if self._liveness.state == "unresponsive":
            gone = self._why_gone()
            if gone:
                self._liveness.kernel_gone(gone)
        super()._judge(now, shell)

    def _why_gone(self) -> str:
        if self.tap.process_exists() is False:
            return f"the tap's process {self.tap.pid} has exited: the kernel cannot be reached"
        return super()._why_gone()


def _asks_password(frames: Frames) -> bool:
    try:
        content = orjson.loads(frames.content_bytes)
    except orjson.JSONDecodeError:
        return False
    return isinstance(content, dict) and content.get("password") is True
