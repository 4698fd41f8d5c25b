"""Loss is reported truthfully: real loss is made on purpose, and the count must match it.

A real ipykernel sends 30,000 comm messages. The capture listens with a receive high-water
mark of 100 and is stalled for two seconds at the start of the flood (its log's lock is held),
so its queue fills, libzmq stops reading, and the kernel's iopub socket drops messages for it.
What really went missing is counted from the kernel's own message counter (read before and
after the loop, in the kernel); what the monitor says is its ``lost`` count. A control run
with no stall and an unbounded queue sits beside it.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from benchmarks.flood import counter, flood
from jpf_widget.capture import Capture
from jpf_widget.kernels import read_connection_file
from jpf_widget.log import MessageLog
from jpf_widget.messages import Stream

COUNT = 30_000
FLOOD = flood(COUNT, "jpf.loss")


def _case(manager: KernelManager, label: str, stall: float, hwm: int) -> dict[str, Any]:
    info = read_connection_file(manager.connection_file)
    log = MessageLog(budget=1 << 31)
    capture = Capture(info, log, receive_hwm=hwm)
    capture.start()
    client = manager.blocking_client()
    client.start_channels(iopub=False, stdin=False, hb=False)
    try:
        if log.wait_for(lambda m: m.msg_type == "kernel_info_reply", 60) is None:
            raise RuntimeError("the kernel did not answer")
        if stall:
            with log._lock:  # the capture thread blocks in add_many: its queue fills up
                request = client.execute(FLOOD)
                time.sleep(stall)
        else:
            request = client.execute(FLOOD)
        # the flood's own output may be among what was dropped: its end comes from the shell
        # reply, and the counters from a second request, after the stall
        while client.get_shell_msg(timeout=300)["parent_header"].get("msg_id") != request:
            pass
        question = client.execute("print(start, end, flush=True)")
        printed = log.wait_for(lambda m: isinstance(m, Stream) and m.parent_id == question, 60)
        if printed is None:
            raise RuntimeError(
                f"the kernel did not say how many it sent: {capture.state} {capture.detail} "
                f"{log.stats()}"
            )
        deadline = time.monotonic() + 5
        start, end = map(int, printed.content["text"].split())
        # after ``end`` the kernel sends an execute_reply (to our client, not on iopub) and the
        # idle status: the window is [start, end + 2) less that one reply
        window = range(start, end + 2)
        seen = {n for n in (counter(m.msg_id) for m in log.thread(request)) if n in window}
        sent = len(window) - 1
        truly = sent - len(seen)
        while log.stats()["lost"] != truly and time.monotonic() < deadline:
            time.sleep(0.05)  # the count settles as the last messages are accounted
        return {
            "case": label,
            "kernel sent on iopub": sent,
            "monitor captured": len(seen),
            "truly missing": truly,
            "monitor lost count": log.stats()["lost"],
            "equal": log.stats()["lost"] == truly,
        }
    finally:
        client.stop_channels()
        capture.close()


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
