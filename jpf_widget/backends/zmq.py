"""The ZMQ back end: attaches to a kernel's ports from its connection file.

One daemon thread per monitor holds three sockets to the target kernel:

- iopub ``SUB``, subscribed to everything with ``RCVHWM=0`` before it connects, so libzmq never
  drops on our side; its socket monitor tells when the kernel's process goes away or comes back;
- shell ``DEALER``, on which we send only ``kernel_info_request`` (on attach, after a restart,
  and as a probe after a burst so a loss at the very end of it shows); its replies are captured;
- heartbeat ``REQ``, pinged every second: silence while connected means *unresponsive*.

What the sockets show goes to a :class:`~jpf_widget.backends.liveness.Liveness`, which decides
the state; gaps in the kernel's msg_id counter go to a
:class:`~jpf_widget.backends.loss.LossDetector`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from ..kernels import ConnectionFileError, ConnectionInfo, read_connection_file
from ..log import MessageLog
from ..messages import (
    COMM_TYPES,
    FROM_KERNEL,
    MSG_TYPE,
    PARENT_ID,
    SESSION,
    Message,
    make_message,
)
from ..procs import process_exists
from ..wire import Blob, Frames, MalformedMessage, Signer, split_frames
from .base import BackendBase, CaptureMode, ViewTraffic
from .liveness import Liveness

__all__ = ["IOPUB", "Route", "ZmqBackend"]

# Where a message went: (channel, direction, client). A batch taken off one socket of ours
# has one route; a batch off a tap's capture stream has one per message.
Route = tuple[str, str, str]
IOPUB: Route = ("iopub", FROM_KERNEL, "")
_SHELL_REPLIES: Route = ("shell", FROM_KERNEL, "")

# Messages taken off a busy socket and recorded together, before the loop looks at the
# others. Small enough that a batch's parsed frames die young: with 2,000, they lived through
# enough collections to reach the oldest generation, whose full passes then ran every few
# hundred thousand messages (35-180 ms each); with 256, none ran.
_DRAIN_BATCH = 256
_DRAIN_BYTES = 32 * 1024 * 1024
# Parts this big stay views of the received frame; a batch with at least two such
# messages' worth has its signatures checked half on each thread (see _checked_here)
_BIG_PART = 1 << 18
_COALESCE = 0.002  # seconds to let a flood queue up between batches
_NOBLOCK = int(zmq.NOBLOCK)
_LIFE_TYPES = frozenset(("kernel_info_reply", "shutdown_reply", "status"))
_LOOPBACK = ("127.", "localhost", "::1", "0.0.0.0")
_BAD_STREAK = 3  # failed signatures in a row that say the key looks wrong


@dataclass(frozen=True)
class _Pending:
    """A full batch taken off a socket, its signatures being checked on the second thread."""

    routes: Route | list[Route]
    batch: list[Frames]
    checked: Future[bytes]


class ZmqBackend(BackendBase):
    """Attach to one kernel and record what it says into ``log``, in a daemon thread.

    Parameters
    ----------
    info : ConnectionInfo
        Where the kernel listens, and its key (kept here, never shown).
    log : MessageLog
        Where messages go.
    heartbeat_interval : float
        Seconds between heartbeat pings; two missed replies make the kernel *unresponsive*.
    dead_after : float
        Seconds after the kernel's sockets went away with no sign of it coming back before it is
        declared *dead* (at once when its process is known to be gone).
    probe_after : float
        Seconds of quiet after a burst before a ``kernel_info_request`` probes for a loss at
        its very end.
    view_traffic : ViewTraffic, optional
        Traffic of jpf_widget's own views, not to be recorded (when a monitor watches the
        kernel it runs in).
    receive_hwm : int
        The iopub socket's receive high-water mark: 0 (the default) queues without limit, so
        nothing is ever dropped on our side; a small value lets the kernel drop for us when we
        fall behind (benchmarks use it to make real loss, which the loss count must match).
    """

    def __init__(
        self,
        info: ConnectionInfo,
        log: MessageLog,
        *,
        heartbeat_interval: float = 1.0,
        dead_after: float = 2.0,
        probe_after: float = 0.5,
        view_traffic: ViewTraffic | None = None,
        receive_hwm: int = 0,
    ) -> None:
        super().__init__(log, view_traffic, f"jpf-capture-{info.kernel_id[:8]}")
        self.info = info
        self._receive_hwm = receive_hwm
        self._signer = Signer(info.key, info.digest)
        self._session = uuid.uuid4().hex
        self._hb_interval = heartbeat_interval
        self._probe_after = probe_after
        self._liveness = Liveness(heartbeat_interval, dead_after)
        # touched only by the capture thread
        self._moved_to: ConnectionInfo | None = None
        self._file_checked_at = 0.0
        self._file_stamp = _stamp(info.connection_file)
        self._probe_due = False
        self._bad_streak = 0
        self._hasher: ThreadPoolExecutor | None = None  # checks signatures on a second core
        self._pending: _Pending | None = None  # a full batch, being checked by the hasher

    def __repr__(self) -> str:
        return f"ZmqBackend(kernel_id={self.kernel_id!r}, state={self.state!r})"

    @property
    def capture(self) -> CaptureMode:
        return "iopub"

    @property
    def kernel_id(self) -> str:
        return self.info.kernel_id

    def connection(self) -> dict[str, Any]:
        """What may be shown about the connection (never the key)."""
        return self.info.public()

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        # the capture thread ends its hasher as it stops; this one's _drain ran elsewhere
        if self._hasher is not None and not self._thread.is_alive():
            self._hasher.shutdown()

    # -- the thread -----------------------------------------------------------------------------

    def _serve(self) -> None:
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        try:
            while not self._stop.is_set():
                sockets = self._open_sockets(context)
                try:
                    self._poll(context, sockets)
                finally:
                    self._settle_pending()
                    for sock in sockets.values():
                        sock.close(linger=0)
                if self._moved_to is not None:
                    self._follow_move(self._moved_to)
        finally:
            if self._hasher is not None:
                self._hasher.shutdown()
            context.term()

    def _open_sockets(
        self, context: zmq.Context[zmq.Socket[bytes]]
    ) -> dict[str, zmq.Socket[bytes]]:
        iopub = context.socket(zmq.SUB)
        iopub.setsockopt(zmq.RCVHWM, self._receive_hwm)
        iopub.setsockopt(zmq.LINGER, 0)
        iopub.setsockopt(zmq.SUBSCRIBE, b"")
        events = iopub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
        iopub.connect(self._stream_url())
        shell = context.socket(zmq.DEALER)
        shell.setsockopt(zmq.LINGER, 0)
        shell.connect(self.info.url("shell"))
        return {"iopub": iopub, "events": events, "shell": shell, "hb": self._heartbeat(context)}

    def _stream_url(self) -> str:
        """What the ``iopub`` socket subscribes to: the kernel's iopub."""
        return self.info.url("iopub")

    def _take_own_replies(self, shell: zmq.Socket[bytes]) -> None:
        """Record the replies to our own requests."""
        self._drain(shell, _SHELL_REPLIES)

    def _heartbeat(self, context: zmq.Context[zmq.Socket[bytes]]) -> zmq.Socket[bytes]:
        hb = context.socket(zmq.REQ)
        hb.setsockopt(zmq.LINGER, 0)
        hb.connect(self.info.url("hb"))
        return hb

    def _poll(
        self, context: zmq.Context[zmq.Socket[bytes]], sockets: dict[str, zmq.Socket[bytes]]
    ) -> None:
        """Poll the sockets until closed, or until the connection file says the kernel moved."""
        poller = zmq.Poller()
        for sock in sockets.values():
            poller.register(sock, zmq.POLLIN)
        self._send_kernel_info_request(sockets["shell"])
        pinged_at = self._ping(sockets["hb"])
        waiting_for_pong = True
        liveness = self._liveness
        while not self._stop.is_set() and self._moved_to is None:
            ready = dict(poller.poll(0 if self._pending is not None else 100))
            now = time.monotonic()
            # a pending batch is recorded by the next drain, even when nothing more has come
            drain = sockets["iopub"] in ready or self._pending is not None
            taken = self._drain(sockets["iopub"], IOPUB) if drain else 0
            if 1 < taken < _DRAIN_BATCH:
                # a flood at the wire's pace: let a few milliseconds' worth queue up, so that
                # each wakeup (poll, lock, bookkeeping) is paid by dozens of messages rather
                # than one or two (a backlog, a full batch, is drained without a pause)
                time.sleep(_COALESCE)
            if sockets["shell"] in ready:
                self._take_own_replies(sockets["shell"])
            if sockets["events"] in ready:
                self._on_socket_event(sockets)
            if sockets["hb"] in ready:
                sockets["hb"].recv()
                liveness.pong(now)
                waiting_for_pong = False
            if now - pinged_at >= self._hb_interval:
                if waiting_for_pong:
                    # a REQ socket cannot send twice: a missed reply needs a new socket
                    poller.unregister(sockets["hb"])
                    sockets["hb"].close(linger=0)
                    sockets["hb"] = self._heartbeat(context)
                    poller.register(sockets["hb"], zmq.POLLIN)
                pinged_at = self._ping(sockets["hb"])
                waiting_for_pong = True
            self._judge(now, sockets["shell"])

    def _ping(self, hb: zmq.Socket[bytes]) -> float:
        hb.send(b"ping")
        return time.monotonic()

    def _follow_move(self, info: ConnectionInfo) -> None:
        """Attach to the kernel at its new ports (the connection file was rewritten)."""
        self.info = info
        self._signer = Signer(info.key, info.digest)
        self._moved_to = None
        self._liveness.moved()
        self._publish()
        self.log.add_marker("moved", f"connection file rewritten: now {info.url('iopub')}")

    def _check_connection_file(self, now: float) -> None:
        """While the kernel is away, look whether its connection file now names other ports."""
        if not self.info.connection_file or now - self._file_checked_at < 0.5:
            return
        self._file_checked_at = now
        try:
            stamp = Path(self.info.connection_file).stat().st_mtime_ns
        except OSError:
            return
        if stamp == self._file_stamp:
            return
        try:
            info = read_connection_file(self.info.connection_file, self.info.kernel_id)
        except ConnectionFileError:
            return  # being written: look again next time
        self._file_stamp = stamp
        if info != self.info:
            self._moved_to = info

    def _drain(self, sock: zmq.Socket[bytes], route: Route) -> int:
        """Take what is queued on ``sock`` (up to a batch) and record what passes its checks;
        how many were taken.

        Signatures are checked a batch at a time in C, with the GIL released. A full batch
        (a backlog: more is queued) is checked on the second thread and recorded on the next
        call, after this thread has taken the next batch meanwhile; a batch with big messages
        is checked half here, half there; any other is checked here and recorded at once.
        """
        batch, routes, size = self._receive(sock, route)
        ahead = None
        if len(batch) == _DRAIN_BATCH:
            checking = self._hashing().submit(self._signer.check_all, batch)
            ahead = _Pending(routes, batch, checking)
        self._settle_pending()  # first: messages keep the order they came in
        self._pending = ahead
        if batch and ahead is None:
            self._settle(routes, batch, self._checked_here(batch, size))
        return len(batch)

    def _receive(
        self, sock: zmq.Socket[bytes], route: Route
    ) -> tuple[list[Frames], Route | list[Route], int]:
        """Up to a batch of the messages queued on ``sock``, split; their route (all of them
        came by ``route``), and their size."""
        batch: list[Frames] = []
        recv = sock.recv
        size = 0
        for _ in range(_DRAIN_BATCH):
            # by hand, not recv_multipart: that asks getsockopt(RCVMORE) per part through
            # pyzmq's enum conversions, which doubles the cost of a small message; a Frame
            # carries the flag itself (the parts of one message arrive together)
            try:
                frame = recv(_NOBLOCK, copy=False)
            except zmq.Again:
                break
            raw: list[Blob] = [frame.bytes]
            while frame.more:
                frame = recv(_NOBLOCK, copy=False)
                # a big part stays in ZeroMQ's buffer rather than being copied to a new one
                # (read-only: what the log holds is what was sent)
                raw.append(frame.bytes if len(frame) < _BIG_PART else frame.buffer.toreadonly())
            try:
                frames = split_frames(raw)
            except MalformedMessage:
                self.log.count_problem("malformed")
                continue
            batch.append(frames)
            size += frames.size
            if size > _DRAIN_BYTES:  # big messages: record before holding more of them
                break
        return batch, route, size

    def _checked_here(self, batch: list[Frames], size: int) -> bytes:
        """Check ``batch`` now; half on the second thread when it holds so many bytes (two big
        parts' worth) that hashing them takes longer than handing half over (a 1 MB message
        takes about a millisecond)."""
        check = self._signer.check_all
        if size < 2 * _BIG_PART:
            return check(batch)
        theirs = self._hashing().submit(check, batch[1::2])
        good = bytearray(len(batch))
        good[::2] = check(batch[::2])
        good[1::2] = theirs.result()
        return bytes(good)

    def _hashing(self) -> ThreadPoolExecutor:
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(1, thread_name_prefix="jpf-hash")
        return self._hasher

    def _settle(self, routes: Route | list[Route], batch: list[Frames], good: bytes) -> None:
        """Record the messages of ``batch`` whose signature is good, count the others."""
        if good.count(1) != len(good):
            if isinstance(routes, list):
                routes = [r for ok, r in zip(good, routes, strict=True) if ok]
            batch = [frames for ok, frames in zip(good, batch, strict=True) if self._signed(ok)]
        elif self._bad_streak:
            self._signed(True)
        if not batch:
            return
        if isinstance(routes, tuple):
            self._record(routes, batch)
            return
        start = 0  # record each run of messages that went the same way
        for end in range(1, len(batch) + 1):
            if end == len(batch) or routes[end] != routes[start]:
                self._record(routes[start], batch[start:end])
                start = end

    def _settle_pending(self) -> None:
        """Record the batch still being checked, if there is one."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._settle(pending.routes, pending.batch, pending.checked.result())

    def _signed(self, good: bool | int) -> bool:
        """Count a message's signature check; a run of failures says the key looks wrong."""
        if good:
            if self._bad_streak:
                self._bad_streak = 0
                self._liveness.key_mismatch(False)
                self._publish()
            return True
        self.log.count_problem("bad_signature")
        self._bad_streak += 1
        if self._bad_streak >= _BAD_STREAK:
            self._liveness.key_mismatch(True)
            self._publish()
        return False

    def _record(self, route: Route, batch: list[Frames]) -> None:
        """Record messages that went one way, and learn from them what the kernel does."""
        channel, direction, client = route
        if direction != FROM_KERNEL:  # a client's request: nothing of the kernel's life in it
            self.log.add_many(channel, self._masked(route, batch), None, direction, client)
            return
        loss, own_requests, view_traffic = self.loss, self.own_requests, self.view_traffic
        feed = loss.feed
        lost = loss.lost
        # every reply on shell, control or stdin that reaches us is seen (our own, or all of
        # them through a tap): its number is no gap
        replies = channel != "iopub"
        keep = []
        for frames in batch:
            header, parent = frames.header, frames.parent_header
            msg_type = header["msg_type"]
            feed(header["msg_id"], msg_type, channel, parent, replies)
            if view_traffic is not None and msg_type in COMM_TYPES and view_traffic.covers(frames):
                self.log.count_problem("own_view_traffic")
            else:
                keep.append(frames)
        records = self.log.add_many(channel, keep, None, direction, client)
        session = self.kernel_session
        for record in records:
            # most messages say nothing about the kernel's life: skip the call for them
            if record[SESSION] != session or record[MSG_TYPE] in _LIFE_TYPES:
                self._observe(make_message(record))
                session = self.kernel_session
        if self.state != "connected" and records:
            self._observe(make_message(records[-1]))
        if records:
            self._liveness.heard(time.monotonic(), channel)
            self._probe_due = channel == "iopub" and records[-1][PARENT_ID] not in own_requests
        if loss.lost != lost:
            self.log.set_problem("lost", loss.lost)

    def _masked(self, route: Route, batch: list[Frames]) -> list[Frames]:
        """``batch`` (sent by a client) with any secrets masked: nothing to mask here, where
        only the kernel's messages are seen."""
        return batch

    def _observe(self, message: Message) -> None:
        """Follow the kernel's life through what it says: kernel info, restarts, shutdowns."""
        liveness, now = self._liveness, time.monotonic()
        msg_type = message.msg_type
        if msg_type == "status":
            liveness.status(now, message.content.get("execution_state") == "busy")
        if msg_type == "shutdown_reply" and message.channel == "iopub":
            liveness.shutdown(bool(message.content.get("restart", False)))
        # after a move, the new session is a restart even if the old process never said a word
        restarted = self._observe_kernel(message, liveness.after_move)
        if restarted is not None:
            liveness.spoke(now, restarted)
        self._publish()

    def _on_socket_event(self, sockets: dict[str, zmq.Socket[bytes]]) -> None:
        event = recv_monitor_message(sockets["events"])["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            if self._liveness.handshake(time.monotonic()):
                self._send_kernel_info_request(sockets["shell"])
        elif event == zmq.EVENT_DISCONNECTED:
            self._liveness.disconnected(time.monotonic())
        self._publish()

    def _judge(self, now: float, shell: zmq.Socket[bytes]) -> None:
        """Let the liveness judge from the heartbeat and the time down; probe for a loss at
        the end of a burst."""
        liveness = self._liveness
        if liveness.looking_for_ports:
            self._check_connection_file(now)
        gone = self._why_gone() if liveness.down_since is not None else ""
        if liveness.tick(now, gone):
            self._send_kernel_info_request(shell)
        self._publish()
        if (
            self._probe_due
            and now - liveness.last_activity >= self._probe_after
            and self.state == "connected"
        ):
            self._probe_due = False
            self._send_kernel_info_request(shell)

    def _publish(self) -> None:
        """Show the liveness's verdict (a death is also marked in the log)."""
        liveness = self._liveness
        if liveness.state == "dead":
            self._enter_dead(liveness.detail)
        self._set_state(liveness.state, liveness.detail)

    def _why_gone(self) -> str:
        """A definite reason the kernel is gone, or "" if it may come back."""
        path = self.info.connection_file
        if path and not Path(path).exists():
            return f"the kernel was shut down: its connection file {path} was removed"
        pid = self.loss.pid()
        if pid is not None and self.info.ip.startswith(_LOOPBACK) and not process_exists(pid):
            return f"the kernel's process {pid} has exited"
        return ""

    def _send_kernel_info_request(self, shell: zmq.Socket[bytes]) -> None:
        msg_id, frames = self._signer.request("kernel_info_request", self._session)
        self.own_requests.add(msg_id)
        with contextlib.suppress(zmq.ZMQError):
            shell.send_multipart(frames, zmq.NOBLOCK)


def _stamp(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns if path else 0
    except OSError:
        return 0
