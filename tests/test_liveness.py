"""The liveness state machine, fed scripts of events and times (no sockets, no clock)."""

from __future__ import annotations

from jpf_widget.backends.liveness import CAME_BACK, MISMATCH, SHUT_DOWN, STUCK_AFTER, Liveness


def connected(now: float = 0.0) -> Liveness:
    """A liveness that has seen the handshake, a pong and an iopub message."""
    live = Liveness(heartbeat_interval=1.0, dead_after=2.0)
    assert live.handshake(now) is False
    live.pong(now)
    live.heard(now, "iopub")
    live.tick(now)
    assert live.state == "connected"
    return live


def test_connecting_until_the_heartbeat_answers_and_iopub_flows() -> None:
    live = Liveness()
    assert (live.state, live.looking_for_ports) == ("connecting", True)
    live.tick(0.0)
    assert live.state == "connecting"  # no connection yet
    live.handshake(0.1)
    live.tick(0.2)
    assert live.state == "connecting"  # connected, but no heartbeat yet
    live.pong(0.3)
    live.heard(0.3, "iopub")
    live.tick(0.3)
    assert (live.state, live.detail, live.looking_for_ports) == ("connected", "", False)


def test_a_silent_busy_kernel_counts_as_connected_after_a_while_of_heartbeats() -> None:
    live = Liveness()
    live.handshake(0.0)
    live.pong(0.0)
    live.heard(0.0, "shell")  # not iopub: not yet known to flow
    live.tick(0.5)
    assert live.state == "connecting"
    live.pong(1.9)
    live.tick(1.9)
    assert live.state == "connecting"
    live.pong(2.6)
    live.tick(2.6)
    assert live.state == "connected"


def test_heartbeat_silence_is_unresponsive_and_a_pong_recovers() -> None:
    live = connected()
    live.tick(2.1)
    assert live.state == "connected"  # within two intervals and a margin
    live.tick(2.3)
    assert live.state == "unresponsive"
    assert "no heartbeat for 2 s" in live.detail
    assert live.looking_for_ports
    live.pong(3.0)
    live.tick(3.0)
    assert (live.state, live.detail) == ("connected", "")


def test_a_kernel_gone_with_a_reason_is_dead_at_once() -> None:
    live = connected()
    live.disconnected(5.0)
    live.tick(5.1)
    assert live.state == "connected"  # down, but it may come back
    live.tick(5.2, gone="its connection file was removed")
    assert (live.state, live.detail) == ("dead", "its connection file was removed")
    live.tick(9.0, gone="another reason")
    assert live.detail == "its connection file was removed"  # dead once


def test_down_too_long_is_dead_and_a_handshake_brings_it_back() -> None:
    live = connected()
    live.disconnected(1.0)
    live.tick(2.9)
    assert live.state == "connected"
    live.tick(3.0)
    assert live.state == "dead"
    assert live.detail == "lost the connection to the kernel 2 s ago"
    assert live.handshake(4.0) is True  # came back on the same ports: ask who it is
    assert (live.state, live.detail) == ("restarting", CAME_BACK)
    live.spoke(4.1, restarted=True)
    assert live.state == "connected"


def test_an_announced_restart_waits_longer_before_dead() -> None:
    live = connected()
    live.shutdown(restart=True)
    assert live.state == "restarting"
    live.disconnected(1.0)
    live.tick(1.5, gone="its process exited")  # a restart replaces the process
    assert live.state == "restarting"
    live.tick(12.9)
    assert live.state == "restarting"
    live.tick(13.0)
    assert live.state == "dead"


def test_a_shutdown_without_restart_is_dead_when_the_sockets_go() -> None:
    live = connected()
    live.shutdown(restart=False)
    assert live.state == "connected"
    live.disconnected(1.0)
    live.tick(1.0)
    assert (live.state, live.detail) == ("dead", SHUT_DOWN)


def test_dead_while_connected_is_asked_who_it_is_when_the_heartbeat_answers() -> None:
    live = connected()
    live._go("dead", "said so")  # no event leads here today; the machine still recovers
    live.pong(20.0)
    assert live.tick(20.5) is True
    assert (live.state, live.detail) == ("restarting", CAME_BACK)


def test_after_a_move_the_handshake_waits_for_the_kernel_to_speak() -> None:
    live = connected()
    live.moved()
    assert (live.state, live.after_move, live.looking_for_ports) == ("restarting", True, True)
    assert live.handshake(1.0) is False
    assert live.state == "restarting"  # the old process may still be talking
    live.spoke(1.1, restarted=True)
    assert (live.state, live.after_move) == ("connected", False)


def test_the_handshake_after_an_answer_on_shell_ends_a_restart() -> None:
    live = connected()
    live.shutdown(restart=True)
    live.handshake(1.0)  # no disconnect seen: the same connection
    assert live.state == "connected"


def test_busy_and_silent_says_so_while_connected() -> None:
    live = connected()
    live.status(10.0, busy=True)
    live.pong(10.0 + STUCK_AFTER)
    live.tick(10.0 + STUCK_AFTER)
    assert live.state == "connected"
    assert live.detail.startswith("busy for 5 s, silent for 5 s")
    live.status(16.0, busy=False)
    live.pong(16.0)
    live.tick(16.0)
    assert live.detail == ""


def test_a_key_mismatch_is_said_until_signatures_pass() -> None:
    live = connected()
    live.key_mismatch(True)
    assert live.detail == MISMATCH
    live.pong(1.0)
    live.tick(1.0)
    assert live.detail == MISMATCH  # the standing detail keeps it
    live.key_mismatch(False)
    assert live.detail == ""
