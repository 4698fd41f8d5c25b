"""The capture thread: owns the ZMQ sockets to one kernel and feeds the message log.

One daemon thread per monitor holds three sockets to the target kernel:

- iopub ``SUB``, subscribed to everything with ``RCVHWM=0`` before it connects, so libzmq never
  drops on our side; its socket monitor tells when the kernel's process goes away or comes back;
- shell ``DEALER``, on which we send only ``kernel_info_request`` (on attach, after a restart,
  and as a probe after a burst so a loss at the very end of it shows); its replies are captured;
- heartbeat ``REQ``, pinged every second: silence while connected means *unresponsive*.

It also tells, from the kernel's msg_id counter (``{session}_{pid}_{n}``, shared by everything the
kernel process sends), how many messages never arrived (:class:`LossDetector`).

Nothing here talks to a browser: the widget reads :attr:`Capture.state`, :attr:`Capture.detail`
and :attr:`Capture.kernel_info`, and the log.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from .kernels import ConnectionFileError, ConnectionInfo, read_connection_file
from .log import MessageLog
from .messages import (
    COMM_TYPES,
    MSG_TYPE,
    PARENT_ID,
    SESSION,
    Message,
    comm_id_of,
    make_message,
)
from .procs import process_exists
from .wire import Blob, Frames, MalformedMessage, Signer, split_frames

__all__ = ["STATES", "Capture", "KernelWatch", "LossDetector", "ViewTraffic"]

STATES = ("connecting", "connected", "unresponsive", "restarting", "dead", "closed")

_COUNTER_KEY = re.compile(r"^.+_(?P<pid>\d+)$")  # "{session}_{pid}", before "_{n}"
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
_STUCK_AFTER = 5.0  # seconds busy and silent before the detail says so
_MISMATCH = "signature mismatch: wrong connection file or key?"
_LOOPBACK = ("127.", "localhost", "::1", "0.0.0.0")


@dataclass
class _Counter:
    """One kernel process's counter, over the window from the first iopub message we heard
    (what it sent before our subscription reached it was never ours to get)."""

    low: int = -1  # -1: no iopub message yet
    high: int = -1
    seen: int = 0
    requests: set[str] = field(default_factory=set)  # requests whose replies we cannot see
    answered: set[str] = field(default_factory=set)  # our own requests, replies seen
    # replies on shell numbered above the newest iopub message: the iopub messages sent before
    # them may still be on their way, so they wait here rather than open a gap
    ahead: set[int] = field(default_factory=set)

    def take(self, n: int, channel: str) -> None:
        if channel != "iopub" and n > self.high:
            self.ahead.add(n)
        elif self.high < 0:  # the window opens; replies from before it are outside
            self.low = self.high = n
            self.seen = 1
            self.ahead = {a for a in self.ahead if a > n}
        elif n <= self.high:
            self.seen += 1
            self.low = min(self.low, n)
        else:
            self.high = n
            self.seen += 1
            if self.ahead:  # count the replies that iopub has now caught up with
                reached = {a for a in self.ahead if a <= n}
                self.seen += len(reached)
                self.ahead -= reached

    @property
    def missing(self) -> int:
        if self.high < 0:
            return 0
        # Each request handled leaves one counter value on a reply we cannot see.
        return max(0, self.high - self.low + 1 - self.seen - len(self.requests))


class LossDetector:
    """Counts messages that never arrived, from gaps in the kernel's msg_id counter.

    ipykernel's msg_ids are ``f"{session}_{pid}_{n}"`` with ``n`` counting every message that
    process sends on any channel. A shell/control/stdin reply to another client uses a number we
    never see, so each request seen (through the ``parent_header`` of its iopub messages) excuses
    one missing number. Kernels whose msg_ids carry no counter (xeus: plain uuids) get
    ``available = False`` and no loss is ever reported for them.
    """

    def __init__(self) -> None:
        self._counters: dict[str, _Counter] = {}
        self.available: bool | None = None  # None until the first kernel message

    def feed(
        self, msg_id: str, msg_type: str, channel: str, parent: dict[str, Any], own: bool = False
    ) -> None:
        """Account for one message; ``own`` when it belongs to one of our requests.

        A request seen on iopub excuses one number (its reply) until that reply is seen: our
        own requests' replies come to us on shell, in either order with their iopub status."""
        key, _, number = msg_id.rpartition("_")
        counter = self._counters.get(key)
        if counter is None:
            if not (number.isdigit() and _COUNTER_KEY.match(key)):
                if msg_type != "iopub_welcome":
                    self.available = False
                return
            if self.available is None:
                self.available = True
            counter = self._counters[key] = _Counter()
        elif not number.isdigit():
            return
        counter.take(int(number), channel)
        parent_id = str(parent.get("msg_id"))
        if channel == "iopub":
            parent_type = parent.get("msg_type")
            if (
                isinstance(parent_type, str)
                and parent_type.endswith("_request")
                and parent_id not in counter.answered
            ):
                counter.requests.add(parent_id)
        elif own:
            counter.answered.add(parent_id)
            counter.requests.discard(parent_id)

    @property
    def lost(self) -> int:
        if not self.available:
            return 0
        return sum(counter.missing for counter in self._counters.values())

    @property
    def text(self) -> str:
        if self.available is None:
            return "waiting"
        return "available" if self.available else "not available for this kernel"

    def pid(self) -> int | None:
        """The kernel's process id, as carried in its newest msg_ids (None if unknown)."""
        for key in reversed(list(self._counters)):
            match = _COUNTER_KEY.match(key)
            if match:
                return int(match["pid"])
        return None


class ViewTraffic:
    """The comm ids of jpf_widget's own views, whose traffic a monitor must not record.

    A widget's state updates and custom messages leave its kernel on iopub as comm messages;
    when a monitor watches the kernel it runs in, recording them would make more of them (a
    feedback loop, and between two monitors an endless one). Their messages are counted as
    ``own_view_traffic`` instead. Only messages from ``kernel_session``, the session of the
    kernel this process is (None outside a kernel), can be such traffic: for any other kernel
    the check ends at one comparison. (The status pair around a request from a view is
    recorded: it happens once per request, which the view sends only on render and scroll.)
    """

    def __init__(self, kernel_session: str | None = None) -> None:
        self.comm_ids: set[str] = set()
        self.kernel_session = kernel_session

    def covers(self, frames: Frames) -> bool:
        return (
            self.kernel_session is not None
            and frames.header.get("session") == self.kernel_session
            and frames.header["msg_type"] in COMM_TYPES
            and comm_id_of(frames.content_bytes) in self.comm_ids
        )


class KernelWatch:
    """What every capture keeps of the kernel it watches, local (ZMQ) or remote (websocket).

    The widget reads ``state``, ``detail``, ``kernel_info``, ``restarts``, ``loss``,
    ``own_requests`` and ``changes``; a capture's thread writes them.
    """

    def __init__(self, log: MessageLog, view_traffic: ViewTraffic | None, name: str) -> None:
        self.log = log
        self.view_traffic = view_traffic
        self.state = "connecting"
        self.detail = ""
        self.kernel_info: dict[str, Any] | None = None
        self.kernel_session = ""
        self.restarts = 0
        self.loss = LossDetector()
        self.own_requests: set[str] = set()
        self._lock = threading.Lock()
        self._changes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self._set_state("closed", "")

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def changes(self) -> int:
        """Bumped at every change of state or kernel info, for pollers."""
        return self._changes

    def _set_state(self, state: str, detail: str) -> None:
        with self._lock:
            if self.state == "closed":
                return
            if (state, detail) != (self.state, self.detail):
                self.state, self.detail = state, detail
                self._changes += 1

    def _enter_dead(self, reason: str) -> None:
        if self.state != "dead":
            self._set_state("dead", reason)
            self.log.add_marker("dead", reason)

    def _take_session(self, session: str, new_process: bool = False) -> bool:
        """Note the session in the kernel's headers; True when it is a restart (a new session
        after a known one, or any session after ``new_process``), marked in the log."""
        if session == self.kernel_session:
            return False
        restarted = bool(self.kernel_session) or new_process
        if restarted:
            self.restarts += 1
            self._changes += 1
            self.log.add_marker("restart", f"kernel restarted: new session {session}")
        self.kernel_session = session
        return restarted


@dataclass(frozen=True)
class _Pending:
    """A full batch taken off a socket, its signatures being checked on the second thread."""

    channel: str
    batch: list[Frames]
    checked: Future[bytes]


class Capture(KernelWatch):
    """Attach to one kernel and record what it says into ``log``, in a daemon thread.

    Parameters
    ----------
    info : ConnectionInfo
        Where the kernel listens, and its key (kept here, never shown).
    log : MessageLog
        Where messages go.
    heartbeat_interval : float
        Seconds between heartbeat pings; two missed replies make the kernel *unresponsive*.
    receive_hwm : int
        The iopub socket's receive high-water mark: 0 (the default) queues without limit, so
        nothing is ever dropped on our side; a small value lets the kernel drop for us when we
        fall behind (benchmarks use it to make real loss, which the loss count must match).
    view_traffic : ViewTraffic, optional
        Traffic of jpf_widget's own views, not to be recorded (when a monitor watches the
        kernel it runs in).
    dead_after : float
        Seconds after the kernel's sockets went away with no sign of it coming back before it is
        declared *dead* (at once when its process is known to be gone).
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
        self._dead_after = dead_after
        self._probe_after = probe_after
        # connection bookkeeping, touched only by the capture thread
        self._connected = False
        self._disconnected_at: float | None = None
        self._shutdown_restart: bool | None = None
        self._last_hb_reply = 0.0
        self._moved_to: ConnectionInfo | None = None
        self._moved = False
        self._heard_iopub = False
        self._first_pong_at = 0.0
        self._file_checked_at = 0.0
        self._file_stamp = _stamp(info.connection_file)
        self._last_activity = 0.0
        self._probe_due = False
        self._bad_streak = 0
        self._busy_since: float | None = None  # the kernel's last status said busy
        self._hasher: ThreadPoolExecutor | None = None  # checks signatures on a second core
        self._pending: _Pending | None = None  # a full batch, being checked by the hasher

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        super().close(timeout)
        # the capture thread ends its hasher as it stops; this one's _drain ran elsewhere
        if self._hasher is not None and not self._thread.is_alive():
            self._hasher.shutdown()

    @property
    def kernel_id(self) -> str:
        return self.info.kernel_id

    def connection(self) -> dict[str, Any]:
        """What may be shown about the connection (never the key)."""
        return self.info.public()

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # the monitor reports, it never takes the notebook down
            self._set_state("dead", f"capture stopped: {type(exc).__name__}: {exc}")
            self.log.add_marker("dead", f"capture stopped: {exc}")

    def _loop(self) -> None:
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        try:
            while not self._stop.is_set():
                sockets = self._open_sockets(context)
                try:
                    self._serve(context, sockets)
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
        iopub.connect(self.info.url("iopub"))
        shell = context.socket(zmq.DEALER)
        shell.setsockopt(zmq.LINGER, 0)
        shell.connect(self.info.url("shell"))
        return {"iopub": iopub, "events": events, "shell": shell, "hb": self._heartbeat(context)}

    def _heartbeat(self, context: zmq.Context[zmq.Socket[bytes]]) -> zmq.Socket[bytes]:
        hb = context.socket(zmq.REQ)
        hb.setsockopt(zmq.LINGER, 0)
        hb.connect(self.info.url("hb"))
        return hb

    def _serve(
        self, context: zmq.Context[zmq.Socket[bytes]], sockets: dict[str, zmq.Socket[bytes]]
    ) -> None:
        """Poll the sockets until closed, or until the connection file says the kernel moved."""
        poller = zmq.Poller()
        for sock in sockets.values():
            poller.register(sock, zmq.POLLIN)
        self._send_kernel_info_request(sockets["shell"])
        pinged_at = self._ping(sockets["hb"])
        waiting_for_pong = True
        while not self._stop.is_set() and self._moved_to is None:
            ready = dict(poller.poll(0 if self._pending is not None else 100))
            now = time.monotonic()
            # a pending batch is recorded by the next drain, even when nothing more has come
            drain = sockets["iopub"] in ready or self._pending is not None
            taken = self._drain(sockets["iopub"], "iopub") if drain else 0
            if 1 < taken < _DRAIN_BATCH:
                # a flood at the wire's pace: let a few milliseconds' worth queue up, so that
                # each wakeup (poll, lock, bookkeeping) is paid by dozens of messages rather
                # than one or two (a backlog, a full batch, is drained without a pause)
                time.sleep(_COALESCE)
            if sockets["shell"] in ready:
                self._drain(sockets["shell"], "shell")
            if sockets["events"] in ready:
                self._on_socket_event(sockets)
            if sockets["hb"] in ready:
                sockets["hb"].recv()
                self._last_hb_reply = now
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
            self._judge(now, sockets)

    def _ping(self, hb: zmq.Socket[bytes]) -> float:
        hb.send(b"ping")
        return time.monotonic()

    def _follow_move(self, info: ConnectionInfo) -> None:
        """Attach to the kernel at its new ports (the connection file was rewritten)."""
        self.info = info
        self._signer = Signer(info.key, info.digest)
        self._moved_to = None
        self._moved = True
        self._connected = False
        self._disconnected_at = None
        self._shutdown_restart = None
        self._last_hb_reply = 0.0
        self._set_state("restarting", "the connection file changed: attaching to the new ports")
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

    def _drain(self, sock: zmq.Socket[bytes], channel: str) -> int:
        """Take what is queued on ``sock`` (up to a batch) and record what passes its checks;
        how many were taken.

        Signatures are checked a batch at a time in C, with the GIL released. A full batch
        (a backlog: more is queued) is checked on the second thread and recorded on the next
        call, after this thread has taken the next batch meanwhile; a batch with big messages
        is checked half here, half there; any other is checked here and recorded at once.
        """
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
        ahead = None
        if len(batch) == _DRAIN_BATCH:
            ahead = _Pending(channel, batch, self._hashing().submit(self._signer.check_all, batch))
        self._settle_pending()  # first: messages keep the order they came in
        self._pending = ahead
        if batch and ahead is None:
            self._settle(channel, batch, self._checked_here(batch, size))
        return len(batch)

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

    def _settle(self, channel: str, batch: list[Frames], good: bytes) -> None:
        """Record the messages of ``batch`` whose signature is good, count the others."""
        if good.count(1) != len(good):
            batch = [frames for ok, frames in zip(good, batch, strict=True) if self._signed(ok)]
        elif self._bad_streak:
            self._signed(True)
        if batch:
            self._record(channel, batch)

    def _settle_pending(self) -> None:
        """Record the batch still being checked, if there is one."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._settle(pending.channel, pending.batch, pending.checked.result())

    def _signed(self, good: bool | int) -> bool:
        """Count a message's signature check; a run of failures says the key looks wrong."""
        if good:
            if self._bad_streak:
                self._bad_streak = 0
                if self.detail == _MISMATCH:
                    self._set_state(self.state, "")
            return True
        self.log.count_problem("bad_signature")
        self._bad_streak += 1
        if self._bad_streak >= 3:
            self._set_state(self.state, _MISMATCH)
        return False

    def _record(self, channel: str, batch: list[Frames]) -> None:
        loss, own_requests, view_traffic = self.loss, self.own_requests, self.view_traffic
        feed = loss.feed
        lost = loss.lost
        keep = []
        for frames in batch:
            header, parent = frames.header, frames.parent_header
            msg_type = header["msg_type"]
            feed(header["msg_id"], msg_type, channel, parent, parent.get("msg_id") in own_requests)
            if view_traffic is not None and msg_type in COMM_TYPES and view_traffic.covers(frames):
                self.log.count_problem("own_view_traffic")
            else:
                keep.append(frames)
        records = self.log.add_many(channel, keep)
        session = self.kernel_session
        for record in records:
            # most messages say nothing about the kernel's life: skip the call for them
            if record[SESSION] != session or record[MSG_TYPE] in _LIFE_TYPES:
                self._observe(make_message(record))
                session = self.kernel_session
        if self.state != "connected" and records:
            self._observe(make_message(records[-1]))
        if records:
            self._heard_iopub = self._heard_iopub or channel == "iopub"
            self._last_activity = time.monotonic()
            self._probe_due = channel == "iopub" and records[-1][PARENT_ID] not in own_requests
        if loss.lost != lost:
            self.log.set_problem("lost", loss.lost)

    def _observe(self, message: Message) -> None:
        """Follow the kernel's life through what it says: kernel info, restarts, shutdowns."""
        msg_type = message.msg_type
        if message.channel == "shell" and msg_type == "kernel_info_reply":
            self.kernel_info = message.content
            self._changes += 1
        if msg_type == "status":
            busy = message.content.get("execution_state") == "busy"
            self._busy_since = (self._busy_since or time.monotonic()) if busy else None
        if msg_type == "shutdown_reply" and message.channel == "iopub":
            self._shutdown_restart = bool(message.content.get("restart", False))
            if self._shutdown_restart:
                self._set_state("restarting", "the kernel is restarting")
        if msg_type == "iopub_welcome" or not message.session:
            return
        # after a move, the new session is a restart even if the old process never said a word
        if self._take_session(message.session, self._moved):
            self._shutdown_restart = None
        self._moved = False
        if self._connected and self.state in ("connecting", "restarting", "dead"):
            self._set_state("connected", self._standing_detail(time.monotonic()))

    def _on_socket_event(self, sockets: dict[str, zmq.Socket[bytes]]) -> None:
        event = recv_monitor_message(sockets["events"])["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            was_down = self._disconnected_at is not None
            self._connected = True
            self._disconnected_at = None
            if was_down:
                # the kernel's process is back (a restart on the same ports): ask who it is
                self._set_state("restarting", "the kernel came back; waiting for it to answer")
                self._send_kernel_info_request(sockets["shell"])
            elif self.state == "restarting" and not self._moved:
                # at its new ports the kernel answered on shell before iopub's handshake ended
                self._set_state("connected", self._standing_detail(time.monotonic()))
        elif event == zmq.EVENT_DISCONNECTED:
            self._connected = False
            self._disconnected_at = time.monotonic()
            if self._shutdown_restart:
                self._set_state("restarting", "the kernel is restarting")

    def _judge(self, now: float, sockets: dict[str, zmq.Socket[bytes]]) -> None:
        """Decide the state from the heartbeat and the sockets' connection."""
        if not self._connected or self.state in ("dead", "unresponsive"):
            self._check_connection_file(now)
        if self._disconnected_at is not None:
            down_for = now - self._disconnected_at
            reason = self._why_gone()
            if reason and self._shutdown_restart is not True:
                self._enter_dead(reason)
            elif down_for >= self._dead_after + (10 if self._shutdown_restart else 0):
                self._enter_dead(
                    reason or f"lost the connection to the kernel {down_for:.0f} s ago"
                )
            return
        if not self._connected:
            return
        silent = now - self._last_hb_reply
        if self._last_hb_reply and silent > 2 * self._hb_interval + 0.2:
            if self.state in ("connected", "connecting"):
                self._set_state(
                    "unresponsive",
                    f"no heartbeat for {silent:.0f} s: the kernel's process is stopped or stuck",
                )
        elif self.state in ("unresponsive", "connected") or (
            self.state == "connecting" and self._last_hb_reply and self._heard_or_waited(now)
        ):
            self._set_state("connected", self._standing_detail(now))
        elif self.state == "dead" and self._last_hb_reply and now - self._last_hb_reply < 1:
            self._set_state("restarting", "the kernel came back; waiting for it to answer")
            self._send_kernel_info_request(sockets["shell"])
        if (
            self._probe_due
            and now - self._last_activity >= self._probe_after
            and self.state == "connected"
        ):
            self._probe_due = False
            self._send_kernel_info_request(sockets["shell"])

    def _standing_detail(self, now: float) -> str:
        """What stays said while connected: a key that fails every message, or a kernel busy
        and silent for a while (its heartbeat answers, so it is alive: a long computation, or
        a call that does not return, such as a sleep in C holding the GIL)."""
        if self._bad_streak >= 3:
            return _MISMATCH
        if self._busy_since is None:
            return ""
        silent = now - max(self._busy_since, self._last_activity)
        if silent < _STUCK_AFTER:
            return ""
        return (
            f"busy for {now - self._busy_since:.0f} s, silent for {silent:.0f} s; the "
            "heartbeat answers, so the process is alive (a long computation, or a call that "
            "does not return)"
        )

    def _heard_or_waited(self, now: float) -> bool:
        """Whether iopub is known to flow: a message arrived on it, or (a busy, silent kernel
        that has not yet answered our kernel_info_request, which waits behind the running
        cell) the heartbeat has answered for a while."""
        if self._heard_iopub:
            return True
        if not self._first_pong_at:
            self._first_pong_at = now
        return now - self._first_pong_at >= 2.0

    def _why_gone(self) -> str:
        """A definite reason the kernel is gone, or "" if it may come back."""
        if self._shutdown_restart is False:
            return "the kernel was shut down (a client sent it a shutdown_request)"
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
