"""Validation cost: microseconds to lint one message, and messages a second, per kind of message.

Each kind (a small stream, a 1 KB comm_msg with a buffer, a display_data, an execute_reply) is
recorded 20,000 times in a MessageLog as the capture records it (split from signed wire
frames); then a :class:`~jpf_widget.lint.linter.Linter` checks them all, each message's rules
and the sequence's, as a Monitor's flusher does, best of three rounds (on a shared machine,
interference only ever slows a round down). "check only" is :func:`jpf_widget.lint.check` on
parsed frames, without the log, the parsing or the sequence. The linter runs off capture's
path: its rate says how far behind a flood it falls, never how fast capture goes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from jpf_widget.lint import check
from jpf_widget.lint.linter import Linter
from jpf_widget.log import MessageLog
from jpf_widget.wire import DELIMITER, Blob, split_frames

COUNT = 20_000
ROUNDS = 3
_PARENT = {
    "msg_id": "a1b2c3d4-e5f60718293a4b5c6d7e8f90_1234_5",
    "msg_type": "execute_request",
    "username": "user",
    "session": "a1b2c3d4-e5f60718293a4b5c6d7e8f90",
    "date": "2026-12-04T15:00:00.000000Z",
    "version": "5.4",
}
KINDS: dict[str, tuple[str, str, dict[str, Any], list[bytes]]] = {
    "stream, small": ("iopub", "stream", {"name": "stdout", "text": "1\n"}, []),
    "comm_msg, 1 KB + buffer": (
        "iopub",
        "comm_msg",
        {"comm_id": "c0ffee", "data": {"method": "update", "state": {"value": "x" * 1000}}},
        [bytes(range(256)) * 4],
    ),
    "display_data": (
        "iopub",
        "display_data",
        {"data": {"text/plain": "x", "text/html": "<b>x</b>"}, "metadata": {}, "transient": {}},
        [],
    ),
    "execute_reply": (
        "shell",
        "execute_reply",
        {"status": "ok", "execution_count": 3, "user_expressions": {}, "payload": []},
        [],
    ),
}


def _frames(n: int, msg_type: str, content: dict[str, Any], buffers: list[bytes]) -> list[Blob]:
    header = {
        "msg_id": f"0f1e2d3c-4b5a69788796a5b4c3d2e1f0_1234_{n}",
        "msg_type": msg_type,
        "username": "user",
        "session": "0f1e2d3c-4b5a69788796a5b4c3d2e1f0",
        "date": "2026-12-04T15:00:00.123456Z",
        "version": "5.4",
    }
    return [
        DELIMITER,
        b"",
        orjson.dumps(header),
        orjson.dumps(_PARENT),
        b"{}",
        orjson.dumps(content),
        *buffers,
    ]


def _lint_rate(channel: str, msg_type: str, content: dict[str, Any], buffers: list[bytes]) -> float:
    log = MessageLog(1 << 34)
    log.add_many(
        channel, [split_frames(_frames(n, msg_type, content, buffers)) for n in range(COUNT)]
    )
    linter = Linter(log, full=True)
    started = time.perf_counter()
    linter.catch_up()
    elapsed = time.perf_counter() - started
    assert linter.stats(catch_up=False)["checked"] == COUNT
    return elapsed / COUNT


def _check_rate(msg_type: str, content: dict[str, Any], channel: str) -> float:
    header = orjson.loads(_frames(0, msg_type, content, [])[2])
    started = time.perf_counter()
    for _ in range(COUNT):
        check(header, _PARENT, content, channel)
    return (time.perf_counter() - started) / COUNT


def run() -> list[dict[str, Any]]:
    rows = []
    for kind, (channel, msg_type, content, buffers) in KINDS.items():
        linted = min(_lint_rate(channel, msg_type, content, buffers) for _ in range(ROUNDS))
        checked = min(_check_rate(msg_type, content, channel) for _ in range(ROUNDS))
        rows.append(
            {
                "message": kind,
                "linter µs / message": f"{linted * 1e6:.1f}",
                "messages / s": f"{1 / linted:,.0f}",
                "check only µs": f"{checked * 1e6:.1f}",
                "load": f"{os.getloadavg()[0]:.1f}",
            }
        )
    return rows
