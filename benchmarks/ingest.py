"""Ingest ceiling: drain a pre-filled SUB queue through three paths, side by side.

1. raw ``recv_multipart`` and nothing else (the limit);
2. jupyter_client's ``Session.feed_identities`` + ``Session.deserialize``;
3. the monitor's own path: the capture thread's ``_drain`` (split, HMAC, record in the log,
   loss accounting; a backlog's signatures are checked a batch ahead on a second thread, as
   the capture does).

Beside them, the HMAC alone (the messages already split, checked half on each of two threads
by the capture's own ``_checked_here``):
every path must hash every byte, so its rate over ``Session.deserialize``'s is the most any
path can reach against it on this machine.

Each path drains the same 30,000 signed messages from an inproc SUB socket with ``RCVHWM=0``,
pre-filled before the clock starts, in three interleaved rounds; each path's best round is
reported (on a shared machine, interference only ever slows a round down).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import zmq
from jupyter_client.session import Session

from jpf_widget.backends import ZmqBackend
from jpf_widget.backends.zmq import IOPUB
from jpf_widget.kernels import ConnectionInfo
from jpf_widget.log import MessageLog
from jpf_widget.wire import split_frames

KEY = b"5e3c0a5b-bench-key-0000-000000000000"
SIZES = {"small": 0, "10 KB": 10_000, "1 MB": 1_000_000}
ROUNDS = 3


def _messages(count: int, size: int) -> list[list[bytes]]:
    session = Session(key=KEY)
    parent = session.msg_header("execute_request")
    pad = "x" * size
    out = []
    for i in range(count):
        content = {"comm_id": "c0ffee", "data": {"i": i, "pad": pad} if size else {"i": i}}
        message = session.msg("comm_msg", content=content, parent=parent)
        out.append([bytes(part) for part in session.serialize(message, ident=[b"comm"])])
    return out


def _prefilled(context: zmq.Context[Any], frames: list[list[bytes]], name: str) -> zmq.Socket[Any]:
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind(f"inproc://{name}")
    sub: zmq.Socket[Any] = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"inproc://{name}")
    while True:  # a SUB's subscription reaches the PUB asynchronously: wait until it has
        pub.send_multipart(frames[0])
        if sub.poll(10):
            sub.recv_multipart()
            break
    for message in frames:
        pub.send_multipart(message)
    pub.close(linger=-1)
    return sub


def _raw(sub: zmq.Socket[Any], count: int) -> None:
    recv = sub.recv_multipart
    for _ in range(count):
        recv()


def _jupyter_client(sub: zmq.Socket[Any], count: int) -> None:
    session = Session(key=KEY)
    recv = sub.recv_multipart
    for _ in range(count):
        _, rest = session.feed_identities(recv())
        session.deserialize(rest)


def _monitor(sub: zmq.Socket[Any], count: int) -> None:
    info = ConnectionInfo("tcp", "127.0.0.1", 1, 2, 3, 4, 5, "hmac-sha256", KEY)
    log = MessageLog(budget=8 * 1024**3)
    capture = ZmqBackend(info, log)
    while log.stats()["captured"] < count:
        if capture._pending is None:  # else the next drain records the batch being checked
            sub.poll(1000)
        capture._drain(sub, IOPUB)
    assert log.stats()["bad_signature"] == 0


def _hmac_alone(frames: list[list[bytes]]) -> float:
    """Messages a second that the capture's two-thread check takes, doing nothing else."""
    batch = [split_frames(list(message)) for message in frames]
    size = sum(message.size for message in batch)
    info = ConnectionInfo("tcp", "127.0.0.1", 1, 2, 3, 4, 5, "hmac-sha256", KEY)
    capture = ZmqBackend(info, MessageLog())
    started = time.perf_counter()
    good = capture._checked_here(batch, size)  # half here, half on its jpf-hash thread
    rate = len(batch) / (time.perf_counter() - started)
    capture.close()
    assert good == b"\x01" * len(batch)
    return rate


PATHS: dict[str, Callable[[zmq.Socket[Any], int], None]] = {
    "raw recv_multipart": _raw,
    "Session.deserialize": _jupyter_client,
    "jpf_widget ingest": _monitor,
}


def run(count: int = 30_000) -> list[dict[str, Any]]:
    context: zmq.Context[Any] = zmq.Context()
    rows = []
    for label, size in SIZES.items():
        n = count if size < 1_000_000 else max(count // 30, 500)  # 1 MB x 30k would be 30 GB
        frames = _messages(n, size)
        rates = dict.fromkeys(PATHS, 0.0)
        hmac_rate = 0.0
        for attempt in range(ROUNDS):  # interleaved rounds, best of each: noise only slows
            hmac_rate = max(hmac_rate, _hmac_alone(frames))
            for path, drain in PATHS.items():
                sub = _prefilled(context, frames, f"{label}-{path}-{attempt}-{os.getpid()}")
                started = time.perf_counter()
                drain(sub, n)
                rates[path] = max(rates[path], n / (time.perf_counter() - started))
                sub.close(linger=0)
        ours = rates["jpf_widget ingest"]
        rows.append(
            {
                "size": label,
                "messages": n,
                **{f"{path} msgs/s": round(rate) for path, rate in rates.items()},
                "ours / raw": round(ours / rates["raw recv_multipart"], 2),
                "ours / deserialize": round(ours / rates["Session.deserialize"], 2),
                "most possible: 2-thread HMAC alone / deserialize": round(
                    hmac_rate / rates["Session.deserialize"], 2
                ),
            }
        )
    context.term()
    return rows
