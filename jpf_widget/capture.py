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
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from .kernels import ConnectionInfo
from .log import MessageLog
from .messages import Message
from .wire import Frames, MalformedMessage, Signer, split_frames

__all__ = ["STATES", "Capture", "LossDetector"]

STATES = ("connecting", "connected", "unresponsive", "restarting", "dead", "closed")

_COUNTER_KEY = re.compile(r"^.+_(?P<pid>\d+)$")  # "{session}_{pid}", before "_{n}"
_DRAIN_BATCH = 2000  # messages taken off a busy socket before the loop looks at the others
_LOOPBACK = ("127.", "localhost", "::1", "0.0.0.0")


@dataclass
class _Counter:
    low: int
    high: int
    seen: int = 1
    requests: set[str] = field(default_factory=set)

    @property
    def missing(self) -> int:
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

    def feed(self, message: Message, own: bool = False) -> None:
        """Account for one message; ``own`` when it answers one of our requests (whose reply
        we see, so it excuses nothing)."""
        key, _, number = message.msg_id.rpartition("_")
        counter = self._counters.get(key)
        if counter is None:
            if not (number.isdigit() and _COUNTER_KEY.match(key)):
                if message.msg_type != "iopub_welcome":
                    self.available = False
                return
            if self.available is None:
                self.available = True
            n = int(number)
            counter = self._counters[key] = _Counter(n, n)
        elif number.isdigit():
            n = int(number)
            if n > counter.high:
                counter.high = n
            elif n < counter.low:
                counter.low = n
            counter.seen += 1
        else:
            return
        if not own and message.channel == "iopub" and message.parent_type.endswith("_request"):
            counter.requests.add(message.parent_id)

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


class Capture:
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
    """

    def __init__(
        self,
        info: ConnectionInfo,
        log: MessageLog,
        heartbeat_interval: float = 1.0,
        dead_after: float = 2.0,
        probe_after: float = 0.5,
    ) -> None:
        self.info = info
        self.log = log
        self.state = "connecting"
        self.detail = ""
        self.kernel_info: dict[str, Any] | None = None
        self.kernel_session = ""
        self.restarts = 0
        self.loss = LossDetector()
        self.own_requests: set[str] = set()
        self._signer = Signer(info.key, info.digest)
        self._session = uuid.uuid4().hex
        self._hb_interval = heartbeat_interval
        self._dead_after = dead_after
        self._probe_after = probe_after
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"jpf-capture-{info.kernel_id[:8]}", daemon=True
        )
        self._lock = threading.Lock()
        self._changes = 0
        # connection bookkeeping, touched only by the capture thread
        self._connected = False
        self._disconnected_at: float | None = None
        self._shutdown_restart: bool | None = None
        self._last_hb_reply = 0.0
        self._last_activity = 0.0
        self._probe_due = False
        self._bad_streak = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the sockets (idempotent)."""
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

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # the monitor reports, it never takes the notebook down
            self._set_state("dead", f"capture stopped: {type(exc).__name__}: {exc}")
            self.log.add_marker("dead", f"capture stopped: {exc}")

    def _loop(self) -> None:
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sockets = self._open_sockets(context)
        try:
            self._serve(context, sockets)
        finally:
            for sock in sockets.values():
                sock.close(linger=0)
            context.term()

    def _open_sockets(
        self, context: zmq.Context[zmq.Socket[bytes]]
    ) -> dict[str, zmq.Socket[bytes]]:
        iopub = context.socket(zmq.SUB)
        iopub.setsockopt(zmq.RCVHWM, 0)
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
        poller = zmq.Poller()
        for sock in sockets.values():
            poller.register(sock, zmq.POLLIN)
        self._send_kernel_info_request(sockets["shell"])
        hb_sent = self._ping(sockets["hb"])
        while not self._stop.is_set():
            ready = dict(poller.poll(100))
            now = time.monotonic()
            if sockets["iopub"] in ready:
                self._drain(sockets["iopub"], "iopub")
            if sockets["shell"] in ready:
                self._drain(sockets["shell"], "shell")
            if sockets["events"] in ready:
                self._on_socket_event(sockets)
            if sockets["hb"] in ready:
                sockets["hb"].recv()
                self._last_hb_reply = now
                hb_sent = 0.0
            if now - hb_sent >= self._hb_interval and hb_sent == 0.0:
                hb_sent = self._ping(sockets["hb"])
            elif hb_sent and now - hb_sent >= self._hb_interval:
                # REQ sockets cannot send twice: a missed reply means a new socket
                poller.unregister(sockets["hb"])
                sockets["hb"].close(linger=0)
                sockets["hb"] = self._heartbeat(context)
                poller.register(sockets["hb"], zmq.POLLIN)
                hb_sent = self._ping(sockets["hb"])
            self._judge(now, sockets)

    def _ping(self, hb: zmq.Socket[bytes]) -> float:
        hb.send(b"ping")
        return time.monotonic()

    def _drain(self, sock: zmq.Socket[bytes], channel: str) -> None:
        """Take what is queued on ``sock`` (up to a batch) and record it."""
        batch: list[Frames] = []
        recv = sock.recv_multipart
        for _ in range(_DRAIN_BATCH):
            try:
                raw = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            frames = self._verified(raw)
            if frames is not None:
                batch.append(frames)
        if batch:
            self._record(channel, batch)

    def _verified(self, raw: list[bytes]) -> Frames | None:
        """The parsed frames, or None (counted) when malformed or badly signed."""
        try:
            frames = split_frames(raw)
        except MalformedMessage:
            self.log.count_problem("malformed")
            return None
        if self._signer.check(frames):
            if self._bad_streak:
                self._bad_streak = 0
                if self.detail.startswith("signature mismatch"):
                    self._set_state(self.state, "")
            return frames
        self.log.count_problem("bad_signature")
        self._bad_streak += 1
        if self._bad_streak >= 3:
            self._set_state(self.state, "signature mismatch: wrong connection file or key?")
        return None

    def _record(self, channel: str, batch: list[Frames]) -> None:
        messages = self.log.add_many(channel, batch)
        self._last_activity = time.monotonic()
        loss, own_requests = self.loss, self.own_requests
        lost = loss.lost
        for message in messages:
            loss.feed(message, message.parent_id in own_requests)
            self._observe(message)
        if messages:
            self._probe_due = channel == "iopub" and messages[-1].parent_id not in own_requests
        if loss.lost != lost:
            self.log.set_problem("lost", loss.lost)

    def _observe(self, message: Message) -> None:
        """Follow the kernel's life through what it says: kernel info, restarts, shutdowns."""
        msg_type = message.msg_type
        if message.channel == "shell" and msg_type == "kernel_info_reply":
            self.kernel_info = message.content
            self._changes += 1
        if msg_type == "shutdown_reply" and message.channel == "iopub":
            self._shutdown_restart = bool(message.content.get("restart", False))
            if self._shutdown_restart:
                self._set_state("restarting", "the kernel is restarting")
        if msg_type == "iopub_welcome" or not message.session:
            return
        if not self.kernel_session:
            self.kernel_session = message.session
        elif message.session != self.kernel_session:
            self.kernel_session = message.session
            self.restarts += 1
            self._changes += 1
            self.log.add_marker("restart", f"kernel restarted: new session {message.session}")
            self._shutdown_restart = None
        if self._connected and self.state in ("connecting", "restarting", "dead"):
            self._set_state("connected", "")

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
        elif event == zmq.EVENT_DISCONNECTED:
            self._connected = False
            self._disconnected_at = time.monotonic()
            if self._shutdown_restart:
                self._set_state("restarting", "the kernel is restarting")

    def _judge(self, now: float, sockets: dict[str, zmq.Socket[bytes]]) -> None:
        """Decide the state from the heartbeat and the sockets' connection."""
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
        elif self.state == "unresponsive" or (
            self.state == "connecting" and self._last_hb_reply and self.kernel_info is not None
        ):
            self._set_state("connected", "")
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

    def _enter_dead(self, reason: str) -> None:
        if self.state != "dead":
            self._set_state("dead", reason)
            self.log.add_marker("dead", reason)

    def _why_gone(self) -> str:
        """A definite reason the kernel is gone, or "" if it may come back."""
        path = self.info.connection_file
        if path and not Path(path).exists():
            return f"the kernel was shut down: its connection file {path} was removed"
        pid = self.loss.pid()
        if pid is not None and self.info.ip.startswith(_LOOPBACK) and not _process_exists(pid):
            return f"the kernel's process {pid} has exited"
        return ""

    def _send_kernel_info_request(self, shell: zmq.Socket[bytes]) -> None:
        msg_id, frames = self._signer.request("kernel_info_request", self._session)
        self.own_requests.add(msg_id)
        with contextlib.suppress(zmq.ZMQError):
            shell.send_multipart(frames, zmq.NOBLOCK)


def _process_exists(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
