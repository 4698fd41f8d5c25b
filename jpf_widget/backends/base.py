"""What every back end is to the widget: the :class:`Backend` protocol, and the bookkeeping of
the kernel that all of them share (:class:`BackendBase`).

A back end owns the connection to one kernel (ZMQ sockets, a websocket, a tap's capture
stream) in a daemon thread of its own and writes what the kernel says into a
:class:`~jpf_widget.log.MessageLog`. The widget only reads it: ``state`` and ``detail`` for
the header, ``kernel_info``, ``restarts`` and ``loss`` for the counters, ``own_requests`` to
tell the monitor's own probes apart, and ``changes`` to know when to look again.
"""

from __future__ import annotations

import threading
from typing import Any, Literal, Protocol

from ..log import MessageLog
from ..messages import COMM_TYPES, Message, comm_id_of
from ..wire import Frames
from .loss import LossDetector

__all__ = ["STATES", "Backend", "BackendBase", "CaptureMode", "ViewTraffic"]

STATES = ("connecting", "connected", "unresponsive", "restarting", "dead", "closed", "replay")

# What a back end can see: "iopub" (a subscriber, plus replies to its own requests),
# "server" (the same, through a Jupyter server's websocket), "tap" (every channel, both ways)
CaptureMode = Literal["iopub", "server", "tap"]


class Backend(Protocol):
    """The connection to one kernel, as the widget and the API use it."""

    log: MessageLog
    kernel_info: dict[str, Any] | None
    kernel_session: str
    restarts: int
    loss: LossDetector
    own_requests: set[str]

    @property
    def capture(self) -> CaptureMode:
        """What this back end can see."""

    @property
    def kernel_id(self) -> str: ...

    @property
    def state(self) -> str:
        """One of :data:`STATES`."""

    @property
    def detail(self) -> str:
        """Why it is in that state, when there is something to say."""

    @property
    def changes(self) -> int:
        """Bumped at every change of state or kernel info, for pollers."""

    @property
    def alive(self) -> bool:
        """Whether its thread runs."""

    def connection(self) -> dict[str, Any]:
        """What may be shown about the connection: never a key or a token."""

    def start(self) -> None:
        """Start the thread: attach and record."""

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and let go of the kernel (idempotent)."""


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


class BackendBase:
    """What every back end keeps of the kernel it watches, and the thread it runs in.

    Subclasses implement :meth:`_serve` (runs until :attr:`_stop` is set) and call
    :meth:`_observe_kernel` with the messages that say something about the kernel's life.
    """

    def __init__(self, log: MessageLog, view_traffic: ViewTraffic | None, name: str) -> None:
        self.log = log
        self.view_traffic = view_traffic
        self.kernel_info: dict[str, Any] | None = None
        self.kernel_session = ""
        self.restarts = 0
        self.loss = LossDetector()
        self.own_requests: set[str] = set()
        self._state = "connecting"
        self._detail = ""
        self._lock = threading.Lock()
        self._changes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def state(self) -> str:
        return self._state

    @property
    def detail(self) -> str:
        return self._detail

    @property
    def changes(self) -> int:
        return self._changes

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self._set_state("closed", "")

    def _run(self) -> None:
        try:
            self._serve()
        except Exception as exc:  # the monitor reports, it never takes the notebook down
            self._set_state("dead", f"capture stopped: {type(exc).__name__}: {exc}")
            self.log.add_marker("dead", f"capture stopped: {exc}")

    def _serve(self) -> None:
        raise NotImplementedError

    def _set_state(self, state: str, detail: str) -> None:
        with self._lock:
            if self._state == "closed":
                return
            if (state, detail) != (self._state, self._detail):
                self._state, self._detail = state, detail
                self._changes += 1

    def _enter_dead(self, reason: str) -> None:
        if self._state != "dead":
            self._set_state("dead", reason)
            self.log.add_marker("dead", reason)

    def _observe_kernel(self, message: Message, new_process: bool = False) -> bool | None:
        """Take what every back end learns from a kernel's message: its ``kernel_info_reply``
        (on shell) and its session. None when the message carries no session of the kernel's
        (``iopub_welcome`` comes from the socket, not the kernel), else whether it shows a
        restart: a new session after a known one, or any session after ``new_process``; a
        restart is counted and marked in the log."""
        if message.channel == "shell" and message.msg_type == "kernel_info_reply":
            self.kernel_info = message.content
            self._changes += 1
        session = message.session
        if message.msg_type == "iopub_welcome" or not session:
            return None
        if session == self.kernel_session:
            return False
        restarted = bool(self.kernel_session) or new_process
        if restarted:
            self.restarts += 1
            self._changes += 1
            self.log.add_marker("restart", f"kernel restarted: new session {session}")
        self.kernel_session = session
        return restarted
