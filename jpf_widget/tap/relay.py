"""The relay: a kernel's five channels passed on in libzmq, every frame copied to a capture.

The relay binds the ports that clients know (the *public* side, those of the public connection
file) and connects to the ports the real kernel listens on (the *kernel* side, those of a private
connection file). It never answers for the kernel, never alters a frame and never signs
anything: it holds no key.

Per captured channel (``shell``, ``control``, ``stdin``, ``iopub``) two libzmq loops run, each in
a thread of its own that spends its life inside C with the GIL released::

    public ROUTER/XPUB ⇄ monitored_queue ⇄ inproc PAIR ⇄ proxy_steerable ⇄ DEALER/XSUB ⇄ kernel
                              │                                │
                              └─▶ [tag, frames…] to a PUB      └─ counts frames, can be stopped
                                  (inproc) ─▶ capture XSUB ⇄ proxy ⇄ capture XPUB ─▶ Monitors

- The public side's loop is pyzmq's ``monitored_queue`` (Cython, ``nogil``): it relays both ways
  and sends each message, prefixed with a tag frame naming channel and direction, to a PUB. It
  runs until the relay's context is terminated; the public sockets and the capture are never
  touched while the tap lives, so clients stay connected across kernel restarts.
- The kernel side's loop is libzmq's ``zmq_proxy_steerable``: its statistics count the frames
  and bytes relayed each way (``STATISTICS``), and it stops between two messages (``PAUSE``,
  ``TERMINATE``), so a restarted kernel on new ports is followed by putting a new DEALER/XSUB
  behind the same inproc link (:meth:`Relay.repoint`).
- The heartbeat is one steerable proxy (public ROUTER ⇄ DEALER), not captured: the kernel echoes,
  the relay only passes pings and echoes on, so a dead kernel looks dead.
- The capture stage is an XSUB ⇄ XPUB proxy. The XSUB subscribes to everything at start, so each
  channel's PUB always hands its copies on; the capture XPUB (bound to loopback or to an ipc path
  in a private directory) is where a slow or absent Monitor loses messages: it drops when its
  per-subscriber queue holds ``capture_hwm`` messages, and never blocks the relay.

No send in the relay can block: the inproc links and the kernel-side sockets have no high-water
mark, a ROUTER drops what it cannot route, and an XPUB or PUB drops what a subscriber cannot take.
Sockets the kernel's clients see keep libzmq's defaults, as ipykernel's own do.

The three kernel-side DEALERs (shell, control, stdin) share one fixed routing id: ipykernel sends
``input_request`` on stdin to the identities of the shell request it answers, the first of which
is the relay's shell DEALER.

The public ROUTERs have ``ROUTER_HANDOVER`` set, as ipykernel's do; the kernel-side XSUB sends a
subscription to everything (``b"\\x01"``) as soon as it connects, so iopub is relayed (and
counted) when no client is subscribed.

A supervisor thread (Python, woken at most a few times a second, never per message) answers
status requests on a ROUTER and publishes the tap's events into the capture stream; see
:mod:`jpf_widget.tap` for both formats.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from zmq.devices import monitored_queue

__all__ = [
    "CAPTURED",
    "EVENT_TAG",
    "PORT_NAMES",
    "Endpoints",
    "Relay",
    "RelayError",
    "tag",
]

log = logging.getLogger(__name__)

#: The channels whose traffic is copied to the capture socket, in this order in ``counts``.
CAPTURED = ("shell", "control", "stdin", "iopub")
#: The connection file's port names, channel by channel.
PORT_NAMES = {
    "shell": "shell_port",
    "control": "control_port",
    "stdin": "stdin_port",
    "iopub": "iopub_port",
    "hb": "hb_port",
}
#: The first frame of the tap's own events on the capture stream.
EVENT_TAG = b"tap!"
_TO_KERNEL, _FROM_KERNEL = ">", "<"
_EVENT_INTERVAL = 1.0  # at most one stats event a second while counts change
_TICK_INTERVAL = 5.0  # and one at least every five seconds (the tap is alive)
_CONTROL_TIMEOUT_MS = 5000
_CONTROL_SLICE_S = 0.05  # how often a wait for a loop's answer checks that it still runs


def tag(channel: str, to_kernel: bool) -> bytes:
    """The capture stream's first frame for ``channel`` in one direction: ``b"shell>"``
    (client to kernel) or ``b"shell<"`` (kernel to client)."""
    return (channel + (_TO_KERNEL if to_kernel else _FROM_KERNEL)).encode()


class RelayError(RuntimeError):
    """The relay could not start or follow the kernel (a port taken, a socket refused)."""


@dataclass(frozen=True)
class Endpoints:
    """Where one side of the relay listens: a transport, an ip (a path prefix for ipc) and the
    five ports, as in a connection file."""

    transport: str
    ip: str
    shell_port: int
    control_port: int
    stdin_port: int
    iopub_port: int
    hb_port: int

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> Endpoints:
        """The endpoints of a connection file's dict (or a KernelManager's connection info)."""
        return cls(
            transport=str(info.get("transport", "tcp")),
            ip=str(info["ip"]),
            **{port: int(info[port]) for port in PORT_NAMES.values()},
        )

    def url(self, channel: str) -> str:
        """The ZeroMQ address of ``channel`` (shell, control, stdin, iopub or hb)."""
        port = getattr(self, PORT_NAMES[channel])
        if self.transport == "ipc":
            return f"ipc://{self.ip}-{port}"
        return f"{self.transport}://{self.ip}:{port}"

    def ports(self) -> dict[str, int]:
        """The five ports by connection-file name."""
        return {name: getattr(self, name) for name in PORT_NAMES.values()}


@dataclass
class _Loop:
    """One libzmq loop in its thread, and how it ended."""

    name: str
    thread: threading.Thread | None = None
    stopping: bool = False  # set before the relay ends it on purpose
    error: str = ""  # why it ended on its own

    @property
    def failed(self) -> bool:
        return bool(self.error) or (
            not self.stopping and self.thread is not None and not self.thread.is_alive()
        )


@dataclass
class _Steerable:
    """A ``proxy_steerable`` with its control pair: the relay's end and the loop's end."""

    loop: _Loop
    frontend: zmq.Socket[bytes]
    backend: zmq.Socket[bytes]
    control: zmq.Socket[bytes]  # the relay's end, used under Relay._control_lock
    control_peer: zmq.Socket[bytes]  # the loop's end


class Relay:
    """The tap's relay in front of one kernel.

    Parameters
    ----------
    public:
        Where clients connect: bound by :meth:`start`.
    kernel:
        Where the kernel listens: connected to, and re-pointed by :meth:`repoint`.
    capture_url:
        Where the capture XPUB binds, e.g. ``"tcp://127.0.0.1:*"`` (a free port) or
        ``"ipc:///tmp/jpf-tap-x/capture"``. :attr:`capture_url` is the resolved address.
    status_url:
        Where the status ROUTER binds, the same way.
    capture_hwm:
        Messages queued per Monitor before the capture drops (and in each channel's PUB).
    private_dir:
        A directory only this user can read (0700) for copies of the public ipc socket files,
        see :meth:`relink_public`. Needed only for the ipc transport.
    on_failure:
        Called (from the supervisor thread) with a description when a loop dies on its own.
    """

    def __init__(
        self,
        public: Endpoints,
        kernel: Endpoints,
        *,
        capture_url: str,
        status_url: str,
        capture_hwm: int = 10_000,
        private_dir: str | os.PathLike[str] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.public = public
        self.kernel = kernel
        self.capture_url = capture_url
        self.status_url = status_url
        self.capture_hwm = capture_hwm
        self.private_dir = Path(private_dir) if private_dir is not None else None
        self.on_failure = on_failure
        self.routing_id = b"jpf-tap-" + uuid.uuid4().hex[:16].encode()
        self.started_at = 0.0
        self.kernel_launches = 0
        self._ctx: zmq.Context[zmq.Socket[bytes]] | None = None
        self._name = f"jpf-tap-{uuid.uuid4().hex[:8]}"
        self._queues: dict[str, _Loop] = {}
        self._links: dict[str, zmq.Socket[bytes]] = {}  # kernel-side end of each inproc link
        self._steer: dict[str, _Steerable] = {}
        self._capture: _Steerable | None = None
        self._supervisor: _Loop | None = None
        self._wake: zmq.Socket[bytes]  # the relay's end of the supervisor's wake-up pair
        self._pending: list[dict[str, Any]] = []  # events for the supervisor to publish
        self._control_lock = threading.Lock()
        self._base: dict[str, list[int]] = {}  # counts of earlier generations: frames, bytes
        self._stopped = threading.Event()
        self._reported: set[str] = set()
        self._public_ipc: list[tuple[Path, Path]] = []

    # ------------------------------------------------------------------ start and stop

    def start(self) -> None:
        """Bind the public side and the capture, connect to the kernel, start the loops.

        Raises
        ------
        RelayError
            when an address cannot be bound (the message names it); nothing is left running.
        """
        if self._ctx is not None:
            raise RelayError("the relay is already started")
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._ctx = ctx
        try:
            loops = self._sockets()
        except BaseException:
            self._stopped.set()
            ctx.destroy(linger=0)  # no thread has used a socket yet
            raise
        for loop, target, args in loops:
            self._run(loop, target, *args)
        self.started_at = time.time()

    def _sockets(self) -> list[tuple[_Loop, Callable[..., None], tuple[Any, ...]]]:
        """Make, bind and connect every socket; return the loops to start with them."""
        loops: list[tuple[_Loop, Callable[..., None], tuple[Any, ...]]] = []
        # The capture stage first, so that each channel's PUB has somewhere to go.
        capture_in = self._socket(zmq.XSUB, rcvhwm=self.capture_hwm)
        capture_in.bind(f"inproc://{self._name}-capture")
        capture_in.send(b"\x01")  # every channel's copies, whoever listens
        capture_out = self._socket(zmq.XPUB, sndhwm=self.capture_hwm, linger=200)
        capture_out.setsockopt(zmq.XPUB_VERBOSE, 1)  # each Monitor's subscription reaches us
        self.capture_url = self._bind(capture_out, self.capture_url, "capture")
        status = self._socket(zmq.ROUTER)
        self.status_url = self._bind(status, self.status_url, "status")
        events = self._socket(zmq.XPUB, sndhwm=1000)
        events.setsockopt(zmq.XPUB_VERBOSE, 1)
        events.connect(f"inproc://{self._name}-capture")
        wake = self._socket(zmq.PAIR)
        wake.bind(f"inproc://{self._name}-wake")
        wake_peer = self._socket(zmq.PAIR)
        wake_peer.connect(f"inproc://{self._name}-wake")
        self._wake = wake
        self._capture = self._steerable("capture", capture_in, capture_out)
        loops.append((self._capture.loop, self._proxy, (self._capture,)))

        for channel in CAPTURED:
            kind = zmq.XPUB if channel == "iopub" else zmq.ROUTER
            public = self._socket(kind, linger=1000)
            if kind == zmq.ROUTER:
                public.setsockopt(zmq.ROUTER_HANDOVER, 1)
            self._bind(public, self.public.url(channel), channel)
            link = self._socket(zmq.PAIR, sndhwm=0, rcvhwm=0)
            link.bind(f"inproc://{self._name}-{channel}")
            peer = self._socket(zmq.PAIR, sndhwm=0, rcvhwm=0)
            peer.connect(f"inproc://{self._name}-{channel}")
            copies = self._socket(zmq.PUB, sndhwm=self.capture_hwm)
            copies.connect(f"inproc://{self._name}-capture")
            self._links[channel] = peer
            self._base[tag(channel, True).decode()] = [0, 0]
            self._base[tag(channel, False).decode()] = [0, 0]
            loop = _Loop(f"{self._name}-{channel}-capture")
            self._queues[channel] = loop
            loops.append((loop, self._queue, (public, link, copies, channel)))
        hb = self._socket(zmq.ROUTER, linger=0)
        self._bind(hb, self.public.url("hb"), "hb")
        self._links["hb"] = hb

        for channel in (*CAPTURED, "hb"):
            steer = self._steerable(
                channel, self._links[channel], self._kernel_socket(channel, self.kernel)
            )
            self._steer[channel] = steer
            loops.append((steer.loop, self._proxy, (steer,)))
        self.kernel_launches = 1
        self._remember_public_ipc()
        supervisor = _Loop(f"{self._name}-status")
        self._supervisor = supervisor
        loops.append((supervisor, self._supervise, (status, events, wake_peer)))
        return loops

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every loop, close every socket, join every thread (at most ``timeout`` s).

        The public ports and the capture address are free when this returns. Safe to call twice.
        """
        ctx = self._ctx
        if ctx is None or self._stopped.is_set():
            return
        with self._control_lock:
            published = self._frames_captured()
            self._stopped.set()
            self._wake_supervisor()  # it publishes "closing" and ends
        if self._supervisor is not None and self._supervisor.thread is not None:
            self._supervisor.thread.join(timeout)
        with self._control_lock:
            self._wait_captured(published + 2)  # the "closing" event passed the capture stage
            steerables = [*self._steer.values(), *([self._capture] if self._capture else [])]
            for steer in steerables:
                self._terminate(steer)
            for steer in steerables:
                if steer.loop.thread is not None:
                    steer.loop.thread.join(timeout)
                for sock in (steer.backend, steer.control, steer.control_peer):
                    sock.close(linger=0)
            if self._capture is not None:
                self._capture.frontend.close(linger=0)
            for link in self._links.values():
                link.close(linger=0)
            self._wake.close(linger=0)
        for loop in self._queues.values():
            loop.stopping = True
        # The capture queues end on ETERM and close their own sockets.
        terminator = threading.Thread(target=ctx.term, name=f"{self._name}-term", daemon=True)
        terminator.start()
        terminator.join(timeout)
        for loop in self._queues.values():
            if loop.thread is not None:
                loop.thread.join(max(0.1, timeout / 4))
        if terminator.is_alive():
            log.warning("jpf tap: the relay's sockets did not all close within %s s", timeout)
        for _public, copy in self._public_ipc:
            with contextlib.suppress(OSError):
                copy.unlink()

    def _frames_captured(self) -> int:
        """Frames the capture stage has taken in so far (caller holds the control lock)."""
        if self._capture is None or self._capture.loop.failed:
            return 0
        stats = self._statistics(self._capture)
        return stats[0] if stats else 0

    def _wait_captured(self, frames: int, timeout: float = 0.5) -> None:
        """Wait (briefly) until the capture stage has taken in ``frames`` frames."""
        deadline = time.monotonic() + timeout
        while self._frames_captured() < frames and time.monotonic() < deadline:
            time.sleep(0.005)

    @property
    def running(self) -> bool:
        """Started and not stopped."""
        return self._ctx is not None and not self._stopped.is_set()

    def threads(self) -> list[threading.Thread]:
        """Every thread the relay started (all of them have ended after :meth:`stop`)."""
        loops = [*self._queues.values(), *(s.loop for s in self._steer.values())]
        if self._capture is not None:
            loops.append(self._capture.loop)
        if self._supervisor is not None:
            loops.append(self._supervisor)
        return [loop.thread for loop in loops if loop.thread is not None]

    # ------------------------------------------------------------------ following the kernel

    def repoint(self, kernel: Endpoints, moved: bool = True) -> None:
        """Put new kernel-side sockets on ``kernel``'s ports (a kernel started again, on new
        ports when ``moved``); what the old sockets held for the old kernel is dropped.

        Each kernel-side loop is paused, its counts are kept, it is ended between two messages,
        and a new one runs with a new DEALER (or XSUB) behind the same inproc link, so what
        clients sent meanwhile waits in the link and goes to the new kernel.
        """
        if not self.running:
            raise RelayError("the relay is not running")
        with self._control_lock:
            for channel, steer in list(self._steer.items()):
                self._add_counts(channel, steer)
                self._terminate(steer)
                if steer.loop.thread is not None:
                    steer.loop.thread.join(5)
                    if steer.loop.thread.is_alive():
                        raise RelayError(f"the {channel} relay did not stop")
                steer.backend.close(linger=0)
                fresh = self._kernel_socket(channel, kernel)
                steer.backend = fresh
                steer.loop = _Loop(steer.loop.name)
                self._run(steer.loop, self._proxy, steer)
            self.kernel = kernel
            self.kernel_launches += 1
            self._publish_later(
                {"event": "kernel", "launches": self.kernel_launches, "moved": moved}
            )

    def relink_public(self) -> None:
        """Give back the public ipc socket files a KernelManager removed when it restarted the
        kernel (it removes ``<ip>-<port>`` for each of its ports); the relay's sockets still
        listen on them, so a hard link made at start puts them back."""
        for public, copy in self._public_ipc:
            if not public.exists() and copy.exists():
                with contextlib.suppress(OSError):
                    os.link(copy, public)

    def _remember_public_ipc(self) -> None:
        if self.public.transport != "ipc" or self.private_dir is None:
            return
        for channel in PORT_NAMES:
            public = Path(self.public.url(channel).removeprefix("ipc://"))
            copy = self.private_dir / f"public-{channel}"
            with contextlib.suppress(OSError):
                os.link(public, copy)
                self._public_ipc.append((public, copy))

    # ------------------------------------------------------------------ counts and health

    def counts(self) -> dict[str, dict[str, int]]:
        """Frames and bytes relayed so far, per tag (``"shell>"``, ``"shell<"``, …), over all
        the kernel's launches. A frame is one ZeroMQ frame (an identity, the delimiter, a
        signature, a header, …): what the capture stream carries after its tag frame."""
        with self._control_lock:
            totals = {name: list(values) for name, values in self._base.items()}
            for channel in CAPTURED:
                steer = self._steer.get(channel)
                if steer is None or steer.loop.failed:
                    continue
                stats = self._statistics(steer)
                if stats is None:
                    continue
                to_kernel, from_kernel = (
                    totals[tag(channel, True).decode()],
                    totals[tag(channel, False).decode()],
                )
                to_kernel[0] += stats[0]
                to_kernel[1] += stats[1]
                from_kernel[0] += stats[4]
                from_kernel[1] += stats[5]
        return {name: {"frames": v[0], "bytes": v[1]} for name, v in totals.items()}

    def problems(self) -> list[str]:
        """What is wrong with the relay: loops that ended on their own, in the order seen."""
        found: list[str] = []
        loops = [*self._queues.values(), *(s.loop for s in self._steer.values())]
        if self._capture is not None:
            loops.append(self._capture.loop)
        if self._supervisor is not None:
            loops.append(self._supervisor)
        for loop in loops:
            if loop.failed:
                what = f"{loop.name} ended: {loop.error or 'no error given'}"
                if what not in found:
                    found.append(what)
        return found

    def status(self) -> dict[str, Any]:
        """What the status socket answers: health, counts, launches, the capture's HWM."""
        problems = self.problems() if self.running else []
        return {
            "version": 1,
            "health": "failed" if problems else ("ok" if self.running else "stopped"),
            "problems": problems,
            "pid": os.getpid(),
            "started": self.started_at,
            "time": time.time(),
            "kernel_launches": self.kernel_launches,
            "capture_hwm": self.capture_hwm,
            "counts": self.counts() if self.running else {},
        }

    # ------------------------------------------------------------------ the loops

    def _socket(
        self, kind: int, *, sndhwm: int | None = None, rcvhwm: int | None = None, linger: int = 0
    ) -> zmq.Socket[bytes]:
        assert self._ctx is not None
        sock = self._ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, linger)
        if sndhwm is not None:
            sock.setsockopt(zmq.SNDHWM, sndhwm)
        if rcvhwm is not None:
            sock.setsockopt(zmq.RCVHWM, rcvhwm)
        return sock

    @staticmethod
    def _bind(sock: zmq.Socket[bytes], url: str, what: str) -> str:
        try:
            sock.bind(url)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            raise RelayError(f"jpf tap: cannot bind the {what} socket to {url}: {exc}") from None
        return str(sock.getsockopt_string(zmq.LAST_ENDPOINT))

    def _kernel_socket(self, channel: str, kernel: Endpoints) -> zmq.Socket[bytes]:
        if channel == "iopub":
            sock = self._socket(zmq.XSUB, sndhwm=0, rcvhwm=0)
            sock.connect(kernel.url(channel))
            sock.send(b"\x01")  # relay iopub whoever is subscribed (and welcome no one twice)
            return sock
        sock = self._socket(zmq.DEALER, sndhwm=0, rcvhwm=0)
        if channel != "hb":
            # input_request is addressed to the shell request's identities: shell, control and
            # stdin must be one peer to the kernel
            sock.setsockopt(zmq.ROUTING_ID, self.routing_id)
        sock.connect(kernel.url(channel))
        return sock

    def _steerable(
        self, channel: str, frontend: zmq.Socket[bytes], backend: zmq.Socket[bytes]
    ) -> _Steerable:
        control = self._socket(zmq.PAIR)
        control.bind(f"inproc://{self._name}-{channel}-control")
        peer = self._socket(zmq.PAIR)
        peer.connect(f"inproc://{self._name}-{channel}-control")
        return _Steerable(_Loop(f"{self._name}-{channel}-kernel"), frontend, backend, control, peer)

    @staticmethod
    def _run(loop: _Loop, target: Callable[..., None], *args: Any) -> None:
        def body() -> None:
            try:
                target(*args)
            except zmq.ContextTerminated:
                if not loop.stopping:
                    loop.error = "its context was terminated"
            except Exception as exc:
                loop.error = f"{type(exc).__name__}: {exc}"
            else:
                if not loop.stopping:
                    loop.error = "returned"

        loop.thread = threading.Thread(target=body, name=loop.name, daemon=True)
        loop.thread.start()

    @staticmethod
    def _queue(
        public: zmq.Socket[bytes],
        link: zmq.Socket[bytes],
        copies: zmq.Socket[bytes],
        channel: str,
    ) -> None:
        try:
            monitored_queue(public, link, copies, tag(channel, True), tag(channel, False))
        finally:
            for sock in (public, link, copies):
                sock.close(linger=0)

    @staticmethod
    def _proxy(steer: _Steerable) -> None:
        zmq.proxy_steerable(steer.frontend, steer.backend, None, steer.control_peer)

    def _terminate(self, steer: _Steerable) -> None:
        """Pause then end a steerable loop (caller holds the control lock)."""
        if steer.loop.thread is None or not steer.loop.thread.is_alive():
            steer.loop.stopping = True
            return
        steer.loop.stopping = True
        steer.control.send(b"PAUSE")
        steer.control.send(b"TERMINATE")

    def _statistics(self, steer: _Steerable) -> list[int] | None:
        """The loop's eight counters (caller holds the control lock): frontend frames in, bytes
        in, frames out, bytes out, then the same for the backend.

        libzmq 4.3.5 answers every command, PAUSE, RESUME and TERMINATE with an empty frame
        (older versions only STATISTICS): those answers are skipped here.
        """
        while steer.control.poll(0):
            steer.control.recv_multipart()
        steer.control.send(b"STATISTICS")
        deadline = time.monotonic() + _CONTROL_TIMEOUT_MS / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                steer.loop.error = "did not answer STATISTICS"
                return None
            # short slices: a loop that has just ended never answers, and must not hold the
            # status socket (and the lock) for the whole timeout; its thread says why it ended
            if not steer.control.poll(int(min(left, _CONTROL_SLICE_S) * 1000)):
                thread = steer.loop.thread
                if thread is not None and not thread.is_alive():
                    return None
                continue
            frames = steer.control.recv_multipart()
            if len(frames) == 8 and all(len(frame) == 8 for frame in frames):
                return [struct.unpack("=Q", frame)[0] for frame in frames]

    def _add_counts(self, channel: str, steer: _Steerable) -> None:
        if channel not in CAPTURED or steer.loop.failed:
            return
        steer.control.send(b"PAUSE")
        stats = self._statistics(steer)
        if stats is None:
            return
        to_kernel = self._base[tag(channel, True).decode()]
        from_kernel = self._base[tag(channel, False).decode()]
        to_kernel[0] += stats[0]
        to_kernel[1] += stats[1]
        from_kernel[0] += stats[4]
        from_kernel[1] += stats[5]

    # ------------------------------------------------------------------ status and events

    def _publish_later(self, event: dict[str, Any]) -> None:
        """Have the supervisor publish ``event`` (caller holds the control lock)."""
        self._pending.append(event)
        self._wake_supervisor()

    def _wake_supervisor(self) -> None:
        """Interrupt the supervisor's poll. Never blocks: a supervisor that has ended (it saw
        ``_stopped`` at a poll's timeout) has closed its end of the pair, where a blocking send
        would wait forever, and one with wake-ups still queued will wake anyway."""
        with contextlib.suppress(zmq.Again):
            self._wake.send(b"wake", zmq.NOBLOCK)

    def _supervise(
        self, status: zmq.Socket[bytes], events: zmq.Socket[bytes], wake: zmq.Socket[bytes]
    ) -> None:
        poller = zmq.Poller()
        for sock in (status, events, wake):
            poller.register(sock, zmq.POLLIN)
        last_counts: dict[str, dict[str, int]] = {}
        last_event = 0.0
        subscriptions = 0

        def publish(event: dict[str, Any]) -> None:
            body = {**event, "time": time.time()}
            events.send_multipart([EVENT_TAG, json.dumps(body).encode()])

        try:
            while True:
                ready = dict(poller.poll(250))
                if wake in ready:
                    while wake.poll(0):
                        wake.recv()
                if self._stopped.is_set():
                    publish({"event": "closing"})
                    break
                if status in ready:
                    frames = status.recv_multipart()
                    reply = json.dumps(self.status()).encode()
                    status.send_multipart([*frames[:-1], reply])
                if events in ready:
                    subscription = events.recv()
                    # the first is the capture XSUB's own; then each Monitor's, once in force
                    if subscription[:1] == b"\x01" and subscriptions:
                        publish({"event": "hello", **self.status()})
                        last_event = time.monotonic()
                    subscriptions += 1
                with self._control_lock:
                    pending, self._pending = self._pending, []
                for event in pending:
                    publish(event)
                problems = self.problems()
                fresh = [p for p in problems if p not in self._reported]
                if fresh:
                    self._reported.update(fresh)
                    for problem in fresh:
                        log.error("jpf tap: %s; clients may no longer reach the kernel", problem)
                        if self.on_failure is not None:
                            self.on_failure(problem)
                    publish({"event": "failed", "problems": problems})
                now = time.monotonic()
                if now - last_event >= _EVENT_INTERVAL:
                    counts = self.counts()
                    if counts != last_counts or now - last_event >= _TICK_INTERVAL:
                        health = "failed" if problems else "ok"
                        publish({"event": "stats", "health": health, "counts": counts})
                        last_counts, last_event = counts, now
        finally:
            for sock in (status, events, wake):
                sock.close(linger=0)
