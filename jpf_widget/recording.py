"""A recording in progress: what a :class:`~jpf_widget.log.MessageLog` records, written to a trace
file as it comes.

Capture appends to the log; a :class:`Recording` follows the log a chunk at a time, behind it,
and writes each message and marker with a :class:`~jpf_widget.trace.TraceWriter`. Capture never
waits for the file: if writing falls so far behind that the log evicts entries before they are
written, the file gets a ``loss`` marker saying how many, and :attr:`Recording.not_written` counts
them. Messages the capture itself lost are marked the same way when the log's count grows.

``jpf record`` runs one on its main thread (:meth:`Recording.run`) over a back end of its own;
``Monitor.record`` runs one on a thread of its own (:meth:`Recording.start`) beside the monitor's
capture, so recording costs no second process reading the kernel's sockets; ``Monitor.save``
runs one, stopped from the start, over what the log holds.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from .log import Held, MessageLog, seq_of
from .messages import Marker, Message, make_message
from .trace import TraceWriter

__all__ = ["Recording", "follow"]

CHUNK = 4096  # log entries taken under the log's lock at a time
# How long a follower that has caught up waits before it looks again. It polls rather than
# waiting on the log's condition: that would wake it for every batch capture adds, and each
# wake would take the interpreter from the capture thread mid-flood
PACE = 0.02
_FLUSH_SECONDS = 0.5  # how stale the file may be while messages keep coming
_NICE = 19
_EXIT_WAIT = 10.0  # how long the process's exit waits for a recording to write what it holds
# Recordings running on their own thread: ended at the process's exit, before its daemon
# threads stop, so a file is never cut off mid-line or left without its end
_RUNNING: weakref.WeakSet[Recording] = weakref.WeakSet()


def follow(
    log: MessageLog,
    stop: threading.Event,
    deadline: float | None = None,
    after: int = -1,
) -> Iterator[tuple[list[Held], int]]:
    """What the log holds with a seq above ``after`` as it comes (records and markers:
    :func:`~jpf_widget.log.entry_of` makes entries of them), a chunk at a time, each with how
    many were evicted before they could be taken. Once ``stop`` is set or ``deadline``
    (monotonic) has passed, what the log holds by then is given, and no more. Once caught
    up, it looks again every :data:`PACE` seconds."""
    cursor, until = after, None
    while until is None or cursor < until:
        if until is None and (
            stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
        ):
            until = log.last_seq
            continue
        held = log.held_after(cursor, CHUNK)
        if until is not None and held and seq_of(held[-1]) > until:
            held = [item for item in held if seq_of(item) <= until]
        if held:
            skipped = seq_of(held[0]) - cursor - 1
            cursor = seq_of(held[-1])
            yield held, skipped
        elif until is not None:
            return
        else:
            wait = PACE if deadline is None else max(0.0, min(PACE, deadline - time.monotonic()))
            stop.wait(wait)


class Recording:
    """Writes what ``log`` records after seq ``after`` to the trace file at ``path``.

    Parameters
    ----------
    log : MessageLog
        What is followed.
    path : str or os.PathLike
        The trace file (``.jsonl``; ``.jsonl.gz`` compresses).
    kernel_id, kernel_info, connection, capture
        What the file's header says of the kernel (see :class:`~jpf_widget.trace.TraceWriter`).
    own_requests : callable
        The msg_ids of the watcher's own requests, asked as messages are written: those and
        what answers them are marked ``own`` in the file.
    keep : callable, optional
        Only the messages for which ``keep(message)`` is true are written (markers always are).
    count, duration : optional
        Stop after writing ``count`` messages, or ``duration`` seconds after starting.
    after : int
        The log's seq after which recording starts (default -1: everything the log holds).
    stats : callable, optional
        The counters to write on the file's last line when the recording ends; the recording
        adds ``not_written``, how many entries the log evicted before they could be written.
    started : float, optional
        When the capture started, for the header (seconds since the epoch; default now).
    first : Marker, optional
        A marker written before anything the log holds (``jpf record``'s ``attached``).
    stop : threading.Event, optional
        Ends the recording when set, as :meth:`stop` does (``jpf record``'s Ctrl-C).

    The file is created, and its header written, when the Recording is made (an ``OSError``
    says why it could not be). It ends, and is closed, when :meth:`stop` is called, ``count``
    or ``duration`` is reached, or the run fails (:attr:`error` says why).
    """

    def __init__(
        self,
        log: MessageLog,
        path: str | os.PathLike[str],
        *,
        kernel_id: str = "",
        kernel_info: dict[str, Any] | None = None,
        connection: dict[str, Any] | None = None,
        capture: str = "",
        own_requests: Callable[[], set[str]] = set,
        keep: Callable[[Message], bool] | None = None,
        count: int | None = None,
        duration: float | None = None,
        after: int = -1,
        stats: Callable[[], dict[str, Any]] | None = None,
        started: float | None = None,
        first: Marker | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.not_written = 0  # entries the log evicted before they could be written
        self.lost = 0  # messages the capture lost while recording
        self.error: BaseException | None = None
        self.started = time.time() if started is None else started
        self._log = log
        self._own_requests = own_requests
        self._keep = keep
        self._count = count
        self._duration = duration
        self._after = after
        self._stats = stats
        self._first = first
        self._stop = stop or threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer = TraceWriter(
            path,
            kernel_id=kernel_id,
            kernel_info=kernel_info,
            connection=connection,
            capture=capture,
            started=self.started,
        )

    def __repr__(self) -> str:
        state = "recording" if self.active else "ended"
        if self.error is not None:
            state = f"failed ({self.error!r})"
        return f"<Recording {self.path!r} {state}: {self.written} messages>"

    @property
    def written(self) -> int:
        """Messages written so far."""
        return self._writer.written

    @property
    def wire_bytes(self) -> int:
        """Their size on the wire."""
        return self._writer.wire_bytes

    @property
    def active(self) -> bool:
        """True until the recording has ended and its file is closed."""
        return not self._done.is_set()

    def start(self) -> Recording:
        """Run the recording on a thread of its own (a daemon: it never holds up the process
        at exit); returns the Recording."""
        self._thread = threading.Thread(target=self._run_kept, name="jpf-record", daemon=True)
        _RUNNING.add(self)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> Recording:
        """End the recording: what the log holds by now is written, then the file's last line
        and the file is closed. Waits up to ``timeout`` seconds for that when the recording
        runs on its own thread; returns the Recording. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._done.wait(timeout)
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the recording has ended (``count``, ``duration``, :meth:`stop`);
        True if it has."""
        return self._done.wait(timeout)

    def _run_kept(self) -> None:
        """:meth:`run` on the recording's own thread: an error ends the recording and is kept
        in :attr:`error` (and in the repr), never raised into the process hosting it."""
        # The lowest CPU priority (Linux: a thread's own): while the machine is saturated the
        # kernel and the capture's socket threads, which lose messages when starved, go first;
        # the recording catches up after, behind the budget
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)
        with contextlib.suppress(Exception):  # run kept it in self.error
            self.run()

    def run(self) -> None:
        """Follow the log and write, until the recording ends; then close the file. An error
        writing (a full disk) ends it too: it is kept in :attr:`error` and raised here."""
        writer, keep, count = self._writer, self._keep, self._count
        if self._first is not None:
            writer.write_marker(self._first)
        deadline = None if self._duration is None else time.monotonic() + self._duration
        # from the log's start, every loss is the recording's; from later, those after it
        lost = 0 if self._after < 0 else self._log.stats()["lost"]
        flushed = time.monotonic()
        try:
            for held, evicted in follow(self._log, self._stop, deadline, self._after):
                if evicted:
                    self.not_written += evicted
                    writer.write_marker(
                        Marker(-1, time.time(), "loss", f"{evicted} messages not written in time")
                    )
                now_lost = self._log.stats()["lost"]
                if now_lost > lost:
                    self.lost += now_lost - lost
                    writer.write_marker(
                        Marker(-1, time.time(), "loss", f"{now_lost - lost} messages lost")
                    )
                    lost = now_lost
                own = self._own_requests()
                if keep is None and count is None:
                    writer.write_records(held, own)
                elif self._write_some(held, own):
                    break
                if time.monotonic() - flushed >= _FLUSH_SECONDS or len(held) < CHUNK:
                    writer.flush()
                    flushed = time.monotonic()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self._finish()

    def _write_some(self, held: list[Held], own: set[str]) -> bool:
        """Write the markers, and the messages ``keep`` keeps, up to ``count``; True once
        ``count`` messages are written."""
        writer, keep, count = self._writer, self._keep, self._count
        for item in held:
            if isinstance(item, Marker):
                writer.write_marker(item)
                continue
            message = make_message(item)
            if keep is None or keep(message):
                writer.write_message(message, message.msg_id in own or message.parent_id in own)
                if count is not None and writer.written >= count:
                    self._stop.set()
                    return True
        return False

    def _finish(self) -> None:
        try:
            stats = self._stats() if self._stats is not None else {}
            stats = {k: v for k, v in stats.items() if k not in ("held", "held_bytes")}
            self._writer.close(stats | {"not_written": self.not_written})
        except BaseException as exc:
            self.error = self.error or exc
            raise
        finally:
            self._done.set()


@atexit.register
def _end_running() -> None:
    for recording in list(_RUNNING):
        recording.stop(_EXIT_WAIT)
