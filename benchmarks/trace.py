"""Trace files: save and load rates (goal: 150,000 messages a second each), and size on disk.

For each kind of message, 200,000 of them in a Monitor's log (as the capture records them:
split from their wire frames) are saved with ``Monitor.save`` and loaded back with
``Monitor.load``; best of three interleaved rounds (on a shared machine, interference only
ever slows a round down). "load" is ``Monitor.load`` until it returns, every message in the log
(the flusher's linter checks some of them meanwhile, in its time budget); "load + lint" adds the
first read of ``stats``, which has the linter check all the others. "wire bytes" is the
messages' size on the wire, all frames; "file / wire" what the trace takes for them, plain and
gzipped. The machine's load average is printed beside the figures.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from jpf_widget import Monitor
from jpf_widget.wire import DELIMITER, Blob, split_frames

ROUNDS = 3
COUNT = 200_000
BUDGET = 1 << 34  # nothing evicted: every message is saved and loaded
_PARENT = orjson.dumps(
    {
        "msg_id": "a1b2c3d4-e5f60718293a4b5c6d7e8f90_1234_5",
        "msg_type": "execute_request",
        "username": "user",
        "session": "a1b2c3d4-e5f60718293a4b5c6d7e8f90",
        "date": "2026-12-04T15:00:00.000000Z",
        "version": "5.4",
    }
)


def _frames(n: int, kind: str) -> list[Blob]:
    header = orjson.dumps(
        {
            "msg_id": f"0f1e2d3c-4b5a69788796a5b4c3d2e1f0_1234_{n}",
            "msg_type": "stream" if kind != "comm_msg, 1 KB + buffer" else "comm_msg",
            "username": "user",
            "session": "0f1e2d3c-4b5a69788796a5b4c3d2e1f0",
            "date": "2026-12-04T15:00:00.123456Z",
            "version": "5.4",
        }
    )
    if kind == "stream, small":
        content = orjson.dumps({"name": "stdout", "text": f"{n}\n"})
        buffers: list[Blob] = []
    else:
        content = orjson.dumps(
            {"comm_id": "c0ffee", "data": {"method": "update", "state": {"value": "x" * 1000}}}
        )
        buffers = [bytes(range(256)) * 4]
    return [DELIMITER, b"", header, _PARENT, b"{}", content, *buffers]


def _monitor(kind: str) -> Monitor:
    """A Monitor attached to nothing, its log filled as a capture fills it."""
    monitor = Monitor(budget=BUDGET, close_after_hidden=None)
    batch = [split_frames(_frames(n, kind)) for n in range(COUNT)]
    for start in range(0, COUNT, 256):
        monitor._log.add_many("iopub", batch[start : start + 256])
    return monitor


def _save(monitor: Monitor, path: Path) -> float:
    started = time.perf_counter()
    written = monitor.save(path)
    rate = COUNT / (time.perf_counter() - started)
    assert written == COUNT
    return rate


def _load(path: Path) -> tuple[float, float]:
    """The rate of ``Monitor.load`` (until it returns, every message in the log), and of
    ``Monitor.load`` and the first read of ``stats``, which has the linter check every
    message not checked yet."""
    started = time.perf_counter()
    loaded = Monitor.load(path, budget=BUDGET, close_after_hidden=None)
    loaded_at = time.perf_counter()
    stats = loaded.stats
    checked_at = time.perf_counter()
    assert stats["captured"] == COUNT
    assert stats["malformed"] == 0
    assert stats["problems"]["unchecked"] == 0
    loaded.close()
    return COUNT / (loaded_at - started), COUNT / (checked_at - started)


def run() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("stream, small", "comm_msg, 1 KB + buffer"):
            monitor = _monitor(kind)
            wire = sum(m.size for m in monitor.messages)
            for suffix in ("jsonl", "jsonl.gz"):
                path = Path(folder) / f"bench.{suffix}"
                save = load = checked = 0.0
                for _ in range(ROUNDS):
                    save = max(save, _save(monitor, path))
                    loaded, linted = _load(path)
                    load, checked = max(load, loaded), max(checked, linted)
                rows.append(
                    {
                        "messages": f"{COUNT:,} {kind}",
                        "file": suffix,
                        "save msgs/s": f"{save:,.0f}",
                        "load msgs/s": f"{load:,.0f}",
                        "load + lint msgs/s": f"{checked:,.0f}",
                        "wire bytes": f"{wire:,}",
                        "file bytes": f"{path.stat().st_size:,}",
                        "file / wire": round(path.stat().st_size / wire, 2),
                        "load average": " ".join(f"{x:.1f}" for x in os.getloadavg()),
                    }
                )
            monitor.close()
    return rows
