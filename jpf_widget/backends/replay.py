"""The replay back end: a Monitor over a recording (a trace file), attached to nothing.

:meth:`ReplayBackend.start` reads the trace (:mod:`jpf_widget.trace`) into the log, each
message with the channel, direction, client and time it was recorded with, each marker in its
place, and the recorded counters (lost, bad signatures, dropped frames, restarts). Lines it
cannot use are counted as ``malformed``. The state is ``"replay"`` from the start: there is no
kernel to lose. The widget knows it as any :class:`~jpf_widget.backends.base.Backend`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from ..log import MessageLog
from ..messages import Marker
from ..trace import RecordedMessage, TraceEnd, TraceReader
from ..wire import Frames
from .base import BackendBase, CaptureMode
from .loss import LossDetector

__all__ = ["REPLAY", "ReplayBackend"]

REPLAY = "replay"  # the state (and the Monitor's status) of a replay
_BATCH = 1024  # messages that went the same way, recorded under one lock
_CAPTURES: dict[object, CaptureMode] = {"iopub": "iopub", "server": "server", "tap": "tap"}
# the recorded counters a replay gives back as they were
_KEPT = ("lost", "bad_signature", "tap_dropped_frames", "own_view_traffic")


class _RecordedLoss(LossDetector):
    """Loss detection as the recording said it was."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    @property
    def text(self) -> str:
        return self._text


class ReplayBackend(BackendBase):
    """Fill ``log`` from the trace at ``path``.

    Raises
    ------
    OSError
        the file cannot be read.
    TraceError
        it is not a trace (the message says why).
    """

    def __init__(self, path: str | os.PathLike[str], log: MessageLog) -> None:
        super().__init__(log, None, "jpf-replay")
        self.path = os.fspath(path)
        self._reader = TraceReader(self.path)
        header = self._reader.header
        self.kernel_info = self._reader.kernel_info
        self._kernel_id = str(header.get("kernel_id") or "")
        self._capture = _CAPTURES.get(header.get("capture"), "iopub")
        connection = header.get("connection")
        self._connection = dict(connection) if isinstance(connection, dict) else {}
        self._state, self._detail = REPLAY, f"reading {Path(self.path).name}"
        self.messages = 0
        self.malformed = 0
        self.recorded_stats: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"ReplayBackend(path={self.path!r}, messages={self.messages})"

    @property
    def capture(self) -> CaptureMode:
        return self._capture

    @property
    def kernel_id(self) -> str:
        return self._kernel_id

    def connection(self) -> dict[str, Any]:
        """The recorded connection (no key was recorded), and the recording's path."""
        return self._connection | {"recording": self.path}

    def start(self) -> None:
        """Read the whole trace into the log, here and now (a trace of a million small
        messages takes seconds: the log's budget bounds what is kept of it)."""
        try:
            self._fill()
        finally:
            self._reader.close()

    def close(self, timeout: float = 5.0) -> None:
        self._reader.close()
        super().close(timeout)

    def _fill(self) -> None:
        log, reader = self.log, self._reader
        own = self.own_requests
        batch: list[Frames] = []
        times: list[float] = []
        route = ("", "", "")
        kernel_info = self.kernel_info

        def flush() -> None:
            if batch:
                log.add_many(route[0], batch, times, route[1], route[2])
                batch.clear()
                times.clear()

        add, when = batch.append, times.append
        for item in reader:
            if type(item) is RecordedMessage:
                channel, direction, client, received, mine, frames = item
                if (
                    channel != route[0]
                    or direction != route[1]
                    or client != route[2]
                    or len(batch) >= _BATCH
                ):
                    flush()
                    route = (channel, direction, client)
                add(frames)
                when(received)
                if mine:
                    own.add(frames.parent_header.get("msg_id") or frames.header["msg_id"])
                if kernel_info is None and frames.header["msg_type"] == "kernel_info_reply":
                    kernel_info = _object(frames.content_bytes)
            elif isinstance(item, Marker):
                flush()
                log.add_marker(item.kind, item.text, item.received)
                if item.kind == "restart":
                    self.restarts += 1
            elif isinstance(item, TraceEnd):
                self.recorded_stats = item.stats
        flush()
        count = log.stats()["captured"]
        stats = self.recorded_stats
        for name in _KEPT:
            value = stats.get(name)
            if isinstance(value, int) and value:
                log.set_problem(name, value)
        recorded_malformed = stats.get("malformed")
        self.malformed = reader.malformed
        bad = reader.malformed + (recorded_malformed if isinstance(recorded_malformed, int) else 0)
        if bad:
            log.count_problem("malformed", bad)
        restarts = stats.get("restarts")
        if isinstance(restarts, int):
            self.restarts = max(self.restarts, restarts)
        loss = stats.get("loss_detection")
        self.loss = _RecordedLoss(loss if isinstance(loss, str) else "not recorded")
        self.kernel_info = kernel_info
        self.messages = count
        damaged = f", {reader.malformed} malformed lines skipped" if reader.malformed else ""
        self._set_state(REPLAY, f"recording {Path(self.path).name}: {count} messages{damaged}")


def _object(data: bytes | memoryview) -> dict[str, Any] | None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
