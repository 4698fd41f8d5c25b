"""Live, zero loss: a real ipykernel floods iopub while a Monitor and an independent socket listen.

The target runs ``comm.send`` 100,000 times as fast as it can. A headless ``Monitor`` in this
process and an independent raw ``SUB`` (``RCVHWM=0``, in a subprocess of its own so its CPU is
not counted against ours) record the msg_ids of that request. Reported: what each saw, whether
the monitor has every msg_id the raw socket has, what the kernel itself sent (its own message
counter), the monitor's loss count, and this process's CPU time per captured message.

Three floods, one after the other on the same kernel: the Monitor alone; the Monitor recording
the flood itself (``Monitor.record``, a thread of its own); the Monitor while ``jpf record`` (a
process of its own) writes the kernel's traffic to a trace file. For the last two, what the file
holds of the flood and the recorder's CPU per message written.

CPU figures in microseconds depend on the host; the ratios beside them do not as much: the
monitor's CPU per message over the raw listener's in the same flood, and with a recorder, the
capture's CPU per message (the monitor's process less a recording thread) over the Monitor
alone's in the same run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from benchmarks.flood import counter, flood
from jpf_widget import Monitor, Stream
from jpf_widget.trace import TraceReader

COUNT = 100_000
FLOOD = flood(COUNT, "jpf.bench") + "print(start, end, flush=True)\n"

# The independent listener: writes its CPU seconds and the msg_ids it hears to argv[2], until
# told to stop.
RAW_LISTENER = """
import sys, time, orjson, zmq
url, out = sys.argv[1], sys.argv[2]
sub = zmq.Context().socket(zmq.SUB)
sub.setsockopt(zmq.RCVHWM, 0)
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.connect(url)
print("ready", flush=True)
cpu = time.process_time()
ids = []
while True:
    frames = sub.recv_multipart()
    i = frames.index(b"<IDS|MSG>")
    header = orjson.loads(frames[i + 2])
    if header["msg_type"] == "stream" and "jpf-raw-stop" in frames[i + 5].decode():
        break
    ids.append(header["msg_id"])
open(out, "w").write("\\n".join([str(time.process_time() - cpu), *ids]))
"""


def run() -> list[dict[str, Any]]:
    runtime = Path(tempfile.mkdtemp(prefix="jpf-bench-"))
    kernel_id = str(uuid.uuid4())
    manager = KernelManager(
        kernel_name="python3", connection_file=str(runtime / f"kernel-{kernel_id}.json")
    )
    manager.start_kernel()
    # shell only: a client reading iopub would have to take the 100,000 messages too
    client = manager.blocking_client()
    client.start_channels(iopub=False, stdin=False, hb=False)
    try:
        with Monitor(kernel_id, runtime_dir=runtime, budget=1 << 31) as monitor:
            monitor.wait_until_connected(60)
            monitor.wait_for("kernel_info_reply", timeout=60)
            rows = [
                _flood(monitor, client, runtime, recorder=recorder)
                for recorder in (None, "Monitor.record", "jpf record")
            ]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    alone = rows[0]["monitor CPU us/msg"]
    for row in rows[1:]:
        capture = row.get(
            "monitor CPU us/msg without its recording thread", row["monitor CPU us/msg"]
        )
        row["capture CPU / Monitor alone"] = round(capture / alone, 2)
    return rows


def _flood(monitor: Monitor, client: Any, runtime: Path, recorder: str | None) -> dict[str, Any]:
    out = runtime / f"raw-ids-{recorder}.txt"
    raw = subprocess.Popen(
        [sys.executable, "-c", RAW_LISTENER, _iopub_url(monitor), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert raw.stdout is not None
    raw.stdout.readline()  # "ready": connected; give the subscription a round trip
    trace = runtime / f"flood-{len(os.listdir(runtime))}.jsonl"
    record = (
        _start_recorder(monitor.kernel_id, runtime, trace) if recorder == "jpf record" else None
    )
    recording = monitor.record(trace) if recorder == "Monitor.record" else None
    _run(monitor, client, "pass")
    cpu_before, captured_before = os.times(), monitor._log.stats()["captured"]
    lost_before = monitor._log.stats()["lost"]
    started = time.perf_counter()
    request = client.execute(FLOOD)
    # polled, not wait_for: a waiting thread would run its predicate on each of the
    # 100,000 messages, and its CPU would count as the monitor's
    printed = _finished(monitor, request, timeout=300)
    elapsed = time.perf_counter() - started
    cpu_after, captured_after = os.times(), monitor._log.stats()["captured"]
    if recording is not None:
        # the recording thread's CPU until the flood is in the monitor, as the monitor's is
        assert recording._thread is not None
        assert recording._thread.native_id is not None
        recording_thread = recording._thread.native_id
        recording_cpu = _cpu_seconds(os.getpid(), recording_thread)
    _run(monitor, client, "print('jpf-raw-stop')")
    raw.wait(60)
    start, end = map(int, printed.text.split())  # type: ignore[attr-defined]
    # after ``end`` the cell prints, replies (to our client, not on iopub) and goes
    # idle: the window is [start, end + 3) less that one reply
    window = range(start, end + 3)
    # all the monitor's messages, not just the flood's thread: the kernel's iopub_welcome
    # for a new subscriber can be numbered among the flood's
    ours = {i for i in (m.msg_id for m in monitor.messages) if counter(i) in window}
    raw_cpu, *raw_ids = out.read_text().split()
    theirs = {i for i in raw_ids if counter(i) in window}
    sent = len(window) - 1
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    captured = captured_after - captured_before
    row: dict[str, Any] = {
        "arm": f"Monitor and {recorder}" if recorder else "Monitor alone",
        "kernel sent on iopub (its counter)": sent,
        "monitor captured": len(ours),
        "raw SUB captured": len(theirs),
        "raw ids missing from monitor": len(theirs - ours),
        "monitor lost count (this flood)": monitor._log.stats()["lost"] - lost_before,
        "truly missing": sent - len(ours),
        "kernel msgs/s": round(sent / elapsed),
        "monitor CPU us/msg": round(cpu / max(captured, 1) * 1e6, 1),
        # the floor, side by side: recv_multipart and a header parse, no more
        "raw SUB CPU us/msg": round(float(raw_cpu) / max(len(raw_ids), 1) * 1e6, 1),
    }
    row["monitor / raw SUB CPU"] = round(row["monitor CPU us/msg"] / row["raw SUB CPU us/msg"], 2)
    if recording is not None:
        row["monitor CPU us/msg without its recording thread"] = round(
            (cpu - recording_cpu) / max(captured, 1) * 1e6, 1
        )
        # the recorder's CPU for all it writes: once it has caught up with the log
        so_far = -1
        while recording.written != so_far:
            so_far = recording.written
            time.sleep(0.5)
        recorder_cpu = _cpu_seconds(os.getpid(), recording_thread)
        recording.stop(120)
    if record is not None:
        recorder_cpu = _cpu_seconds(record.pid)
        record.send_signal(signal.SIGINT)
        record.wait(120)
    if recorder is not None:
        with TraceReader(trace) as reader:
            written = {m.frames.header["msg_id"] for m in reader.messages()}
            malformed = reader.malformed
        filed = {i for i in written if counter(i) in window}
        row |= {
            "in the trace file": len(filed),
            "raw ids missing from the file": len(theirs - filed),
            "malformed lines": malformed,
            "recorder CPU us/msg": round(recorder_cpu / max(len(written), 1) * 1e6, 1),
        }
    return row


def _start_recorder(kernel_id: str, runtime: Path, trace: Path) -> subprocess.Popen[str]:
    """``jpf record`` on the kernel, once it says it records."""
    record = subprocess.Popen(
        [sys.executable, "-m", "jpf_widget.cli", "record", kernel_id, "-o", str(trace)],
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert record.stderr is not None
    line = record.stderr.readline()
    if not line.startswith("recording"):
        raise RuntimeError(f"jpf record did not start: {line}{record.stderr.read()}")
    return record


def _cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User and system CPU seconds of a process, or of one of its threads, so far (Linux)."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _finished(monitor: Monitor, request: str, timeout: float) -> Stream:
    """The request's printed line, once its idle status has arrived (polled every 0.2 s)."""
    deadline = time.monotonic() + timeout
    # the log's counts, not Monitor.stats: reading that has the linter check every message
    # held first, on this thread, and its CPU would count as the monitor's
    streams = monitor._log.stats()["by_type"].get("stream", 0)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        # the flood prints only at its end: until then, look at a counter, for reading its
        # thread of 100,000 messages every time would be this benchmark's CPU, charged to
        # the monitor
        if monitor._log.stats()["by_type"].get("stream", 0) <= streams:
            continue
        tail = monitor.thread(request, limit=4)
        printed = [m for m in tail if isinstance(m, Stream)]
        idle = tail and tail[-1].msg_type == "status" and tail[-1].summary == "idle"
        if printed and idle:
            return printed[-1]
    raise TimeoutError(f"the flood did not finish in {timeout} s")


def _run(monitor: Monitor, client: Any, code: str) -> None:
    request = client.execute(code)
    monitor.wait_for(
        lambda m: (
            m.msg_type == "status"
            and m.parent_id == request
            and m.content.get("execution_state") == "idle"
        ),
        timeout=60,
    )


def _iopub_url(monitor: Monitor) -> str:
    connection = monitor.connection
    return f"tcp://{connection['ip']}:{connection['iopub_port']}"
