"""Loss is reported truthfully: real loss is made on purpose, and the count must match it.

A real ipykernel sends 30,000 comm messages. The capture listens with a receive high-water
mark of 100 and is stalled for two or four seconds at the start of the flood (its log's lock is
held), so its queue fills, libzmq stops reading, and the kernel's iopub socket drops messages
for it. A control run with no stall and an unbounded queue sits beside it.

The truth is independent of the monitor's own accounting: ipykernel numbers every message it
sends, so what really went missing is every number from the first one heard on iopub to the
highest heard, less those the monitor holds and those the kernel used on its replies to this
benchmark's own client (read from that client's shell channel). The monitor's side is its
``lost`` count.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from benchmarks.flood import counter, flood
from jpf_widget.backends import ZmqBackend
from jpf_widget.kernels import read_connection_file
from jpf_widget.log import MessageLog
from jpf_widget.messages import Message

COUNT = 30_000
FLOOD = flood(COUNT, "jpf.loss")


def _case(manager: KernelManager, label: str, stall: float, hwm: int) -> dict[str, Any]:
    info = read_connection_file(manager.connection_file)
    log = MessageLog(budget=1 << 31)
    capture = ZmqBackend(info, log, receive_hwm=hwm)
    capture.start()
    client = manager.blocking_client()
    client.start_channels(iopub=False, stdin=False, hb=False)
    try:
        if log.wait_for(lambda m: m.msg_type == "kernel_info_reply", 60) is None:
            raise RuntimeError("the kernel did not answer")
        # loss is counted from the first iopub message heard: what the kernel sent before our
        # subscription reached it was never ours to get
        if log.wait_for(lambda m: m.channel == "iopub", 60) is None:
            raise RuntimeError("nothing heard on iopub")
        replies: set[int] = set()  # numbers the kernel used on replies to our client
        if stall:
            with log._lock:  # the capture thread blocks in add_many: its queue fills up
                request = client.execute(FLOOD)
                time.sleep(stall)
        else:
            request = client.execute(FLOOD)
        replies.add(_reply_number(client, request))
        _settle(log)
        # The kernel's pipe to a stalled subscriber may still be dropping: ask until one answer
        # is heard (each asking's reply number is noted).
        for _ in range(20):
            sync = client.execute("print('sync', flush=True)")
            replies.add(_reply_number(client, sync))
            if log.wait_for(_status_of(sync), 5):
                break
        else:
            raise RuntimeError(f"nothing heard after the flood: {capture.state} {log.stats()}")
        # the truth, independent of the monitor's accounting: every number from the first one
        # heard on iopub to the highest heard, less those heard and those of our replies
        deadline = time.monotonic() + 5
        while True:
            numbers = {counter(m.msg_id) for m in log.messages()} - {-1}
            first = min(counter(m.msg_id) for m in log.messages() if m.channel == "iopub")
            highest = max(counter(m.msg_id) for m in log.messages() if m.channel == "iopub")
            window = range(first, highest + 1)
            truly = sum(1 for n in window if n not in numbers and n not in replies)
            if log.stats()["lost"] == truly or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # the count settles as the last messages are accounted
        flood_sent = sum(1 for m in log.thread(request))
        return {
            "case": label,
            "kernel sent on iopub (from the first heard)": len(window) - len(replies & set(window)),
            "monitor captured": len(numbers & set(window)),
            "of the flood": flood_sent,
            "truly missing": truly,
            "monitor lost count": log.stats()["lost"],
            "equal": log.stats()["lost"] == truly,
        }
    finally:
        client.stop_channels()
        capture.close()


def _settle(log: MessageLog, quiet: float = 0.5, timeout: float = 60) -> None:
    """Wait until the capture has taken in what was queued: nothing new for ``quiet`` s (a
    request sent while the kernel's pipe to the stalled capture is still full would be
    dropped whole, and its reply's number would then count as lost too: see the README)."""
    deadline = time.monotonic() + timeout
    count, since = log.stats()["captured"], time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.05)
        if log.stats()["captured"] != count:
            count, since = log.stats()["captured"], time.monotonic()


def _status_of(request: str) -> Callable[[Message], bool]:
    return lambda m: m.parent_id == request and m.msg_type == "status"


def _reply_number(client: Any, request: str) -> int:
    """The kernel's counter on its reply to ``request`` (read from our own shell channel)."""
    while True:
        reply = client.get_shell_msg(timeout=300)
        if reply["parent_header"].get("msg_id") == request:
            return counter(reply["header"]["msg_id"])


def run() -> list[dict[str, Any]]:
    runtime = Path(tempfile.mkdtemp(prefix="jpf-loss-"))
    manager = KernelManager(
        kernel_name="python3", connection_file=str(runtime / f"kernel-{uuid.uuid4()}.json")
    )
    manager.start_kernel()
    try:
        rows = [
            _case(manager, "no stall, RCVHWM=0", 0, 0),
            _case(manager, "stalled 2 s, RCVHWM=100", 2.0, 100),
            _case(manager, "stalled 4 s, RCVHWM=100", 4.0, 100),
        ]
    finally:
        manager.shutdown_kernel(now=True)
    return rows
