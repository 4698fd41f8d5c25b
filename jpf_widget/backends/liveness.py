"""Whether a kernel watched over ZMQ is alive: a pure state machine, fed events and the time.

It holds no clock, socket or thread: the ZMQ back end tells it what happened and when
(monotonic seconds), and reads ``state`` and ``detail``. Events::

    handshake(now) -> ask      iopub's connection came up (again)
    disconnected(now)          iopub's connection went away
    pong(now)                  the heartbeat answered
    heard(now, channel)        a message was recorded
    status(now, busy)          the kernel's execution_state
    shutdown(restart)          the kernel announced a shutdown on iopub
    spoke(now, restarted)      the kernel said something under a session (a new one: restarted)
    moved()                    its connection file names other ports; attaching there
    key_mismatch(bad)          signatures keep failing (or pass again)
    kernel_gone(reason)        the kernel is known to be gone while its sockets stay up (a tap
                               in front of it keeps them)
    tick(now, gone) -> ask     judge from heartbeat silence and time down; ``gone`` is a
                               definite reason the kernel is gone (file removed, process exited)

``ask`` True means: send the kernel a ``kernel_info_request`` (it came back and says nothing
until asked). States: ``connecting``, ``connected``, ``unresponsive``, ``restarting``, ``dead``
(``closed`` is the back end's own).
"""

from __future__ import annotations

__all__ = ["MISMATCH", "Liveness"]

MISMATCH = "signature mismatch: wrong connection file or key?"
CAME_BACK = "the kernel came back; waiting for it to answer"
RESTARTING = "the kernel is restarting"
SHUT_DOWN = "the kernel was shut down (a client sent it a shutdown_request)"
STUCK_AFTER = 5.0  # seconds busy and silent before the detail says so
_RESTART_GRACE = 10.0  # extra seconds down allowed while a restart was announced
_SETTLE = 2.0  # seconds of heartbeats with no iopub message before connecting counts as connected


class Liveness:
    """The state of one kernel from what its sockets and messages showed.

    Parameters
    ----------
    heartbeat_interval : float
        Seconds between the back end's pings; two missed replies make the kernel
        *unresponsive*.
    dead_after : float
        Seconds down with no sign of coming back before the kernel is *dead* (at once when
        ``tick`` is given a reason it is gone).
    """

    def __init__(self, heartbeat_interval: float = 1.0, dead_after: float = 2.0) -> None:
        self.state = "connecting"
        self.detail = ""
        self.connected = False  # iopub's connection is up
        self.down_since: float | None = None  # when it went away, while it is away
        self.after_move = False  # attached to new ports; the next session is a restart
        self.last_activity = 0.0  # when the last message was recorded
        self._hb_interval = heartbeat_interval
        self._dead_after = dead_after
        self._shutdown_restart: bool | None = None  # what the last shutdown_reply said
        self._last_pong: float | None = None  # None: no heartbeat answered yet
        self._first_pong_at: float | None = None
        self._heard_iopub = False
        self._busy_since: float | None = None
        self._mismatch = False

    @property
    def looking_for_ports(self) -> bool:
        """Whether the kernel may have moved: worth reading its connection file again."""
        return not self.connected or self.state in ("dead", "unresponsive")

    # -- events -------------------------------------------------------------------------------

    def handshake(self, now: float) -> bool:
        was_down = self.down_since is not None
        self.connected = True
        self.down_since = None
        if was_down:  # the kernel's process is back (a restart on the same ports)
            self._go("restarting", CAME_BACK)
            return True
        if self.state == "restarting" and not self.after_move:
            # at its new ports the kernel answered on shell before iopub's handshake ended
            self._go("connected", self.standing_detail(now))
        return False

    def disconnected(self, now: float) -> None:
        self.connected = False
        self.down_since = now
        if self._shutdown_restart:
            self._go("restarting", RESTARTING)

    def pong(self, now: float) -> None:
        self._last_pong = now

    def heard(self, now: float, channel: str) -> None:
        self._heard_iopub = self._heard_iopub or channel == "iopub"
        self.last_activity = now

    def status(self, now: float, busy: bool) -> None:
        self._busy_since = (self._busy_since or now) if busy else None

    def shutdown(self, restart: bool) -> None:
        self._shutdown_restart = restart
        if restart:
            self._go("restarting", RESTARTING)

    def spoke(self, now: float, restarted: bool) -> None:
        if restarted:
            self._shutdown_restart = None
        self.after_move = False
        if self.connected and self.state in ("connecting", "restarting", "dead"):
            self._go("connected", self.standing_detail(now))

    def moved(self) -> None:
        self.after_move = True
        self.connected = False
        self.down_since = None
        self._shutdown_restart = None
        self._last_pong = None
        self._go("restarting", "the connection file changed: attaching to the new ports")

    def kernel_gone(self, reason: str) -> None:
        self._die(reason)

    def key_mismatch(self, bad: bool) -> None:
        if bad == self._mismatch:
            return
        self._mismatch = bad
        if bad:
            self.detail = MISMATCH
        elif self.detail == MISMATCH:
            self.detail = ""

    def tick(self, now: float, gone: str = "") -> bool:
        if self.down_since is not None:
            down_for = now - self.down_since
            reason = SHUT_DOWN if self._shutdown_restart is False else gone
            grace = _RESTART_GRACE if self._shutdown_restart else 0.0
            if reason and self._shutdown_restart is not True:
                self._die(reason)
            elif down_for >= self._dead_after + grace:
                self._die(reason or f"lost the connection to the kernel {down_for:.0f} s ago")
            return False
        if not self.connected:
            return False
        last_pong = self._last_pong
        if last_pong is not None and now - last_pong > 2 * self._hb_interval + 0.2:
            if self.state in ("connected", "connecting"):
                self._go(
                    "unresponsive",
                    f"no heartbeat for {now - last_pong:.0f} s: "
                    "the kernel's process is stopped or stuck",
                )
        elif self.state in ("unresponsive", "connected") or (
            self.state == "connecting" and last_pong is not None and self._heard_or_settled(now)
        ):
            self._go("connected", self.standing_detail(now))
        elif self.state == "dead" and last_pong is not None and now - last_pong < 1:
            self._go("restarting", CAME_BACK)
            return True
        return False

    # -- judgement ----------------------------------------------------------------------------

    def standing_detail(self, now: float) -> str:
        """What stays said while connected: a key that fails every message, or a kernel busy
        and silent for a while (its heartbeat answers, so it is alive: a long computation, or
        a call that does not return, such as a sleep in C holding the GIL)."""
        if self._mismatch:
            return MISMATCH
        if self._busy_since is None:
            return ""
        silent = now - max(self._busy_since, self.last_activity)
        if silent < STUCK_AFTER:
            return ""
        return (
            f"busy for {now - self._busy_since:.0f} s, silent for {silent:.0f} s; the "
            "heartbeat answers, so the process is alive (a long computation, or a call that "
            "does not return)"
        )

    def _heard_or_settled(self, now: float) -> bool:
        """Whether iopub is known to flow: a message arrived on it, or (a busy, silent kernel
        that has not yet answered our kernel_info_request, which waits behind the running
        cell) the heartbeat has answered for a while."""
        if self._heard_iopub:
            return True
        if self._first_pong_at is None:
            self._first_pong_at = now
        return now - self._first_pong_at >= _SETTLE

    def _die(self, reason: str) -> None:
        if self.state != "dead":
            self._go("dead", reason)

    def _go(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail
