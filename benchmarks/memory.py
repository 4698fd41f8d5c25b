"""Memory is bounded: a million small messages, and 2 GB of 1 MB messages, through 256 MiB.

Each case runs in a fresh process: a stand-in kernel (a subprocess publishing signed messages
on real ZMQ sockets, paced so the socket queue stays short) floods a headless ``Monitor`` with
the default 256 MiB budget; the stand-in sends a chunk, then waits until the monitor has taken
it, so no socket queue grows and what is measured is the monitor. Reported: the process's peak
resident memory above what it used once attached (``VmHWM``), what the log held and
evicted, whether the peak stayed under budget plus the stated fixed overhead, and the garbage
collector's runs and longest pause (wall time) in that process while the messages came in, and
the CPU time of one full collection afterwards, with the log at its budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BUDGET = 256 * 1024 * 1024
OVERHEAD = 64 * 1024 * 1024  # the fixed allowance we state: parsing, socket queues, allocator
CASES = [("1,000,000 small", 1_000_000, 0, 5000), ("2 GB of 1 MB", 2048, 1 << 20, 16)]

# argv: connection file, count, size, chunk. Binds iopub/hb, writes the file, then floods in
# chunks, each when the receiver says it has taken the last (so no queue builds up anywhere).
PUBLISHER = r"""
import hmac, json, sys, threading, time, zmq
path, count, size, chunk = sys.argv[1], *map(int, sys.argv[2:5])
key = b"memory-benchmark-key"
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB); pub.setsockopt(zmq.SNDHWM, 0)
hb = ctx.socket(zmq.REP)
ports = {"iopub_port": pub.bind_to_random_port("tcp://127.0.0.1"),
         "hb_port": hb.bind_to_random_port("tcp://127.0.0.1")}
json.dump({**ports, "shell_port": 0, "stdin_port": 0, "control_port": 0, "ip": "127.0.0.1",
           "key": key.decode(), "transport": "tcp", "signature_scheme": "hmac-sha256"},
          open(path, "w"))
def echo():
    while True:
        hb.send(hb.recv())
threading.Thread(target=echo, daemon=True).start()
mac = hmac.new(key, digestmod="sha256")
parent = b'{"msg_id": "req-1", "msg_type": "execute_request", "session": "client"}'
pad = b"x" * size
def send(i, msg_type, content):
    header = b'{"msg_id": "s_42_%d", "msg_type": "%s", "session": "s", "version": "5.3"}' % (
        i, msg_type)
    m = mac.copy()
    for part in (header, parent, b"{}", content):
        m.update(part)
    pub.send_multipart([b"<IDS|MSG>", m.hexdigest().encode(), header, parent, b"{}", content])
sys.stdout.write("ready\n"); sys.stdout.flush()
for start in range(0, count, chunk):  # a chunk, then wait for the receiver's go-ahead
    sys.stdin.readline()
    for i in range(start, min(start + chunk, count)):
        send(i, b"comm_msg", b'{"comm_id": "c", "data": {"i": %d, "pad": "%s"}}' % (i, pad))
sys.stdin.readline()
send(count, b"stream", b'{"name": "stdout", "text": "done"}')
sys.stdin.readline()
"""

# argv: connection file, expected count. Runs in a fresh process; prints one JSON line.
MEASURE = r"""
import gc, json, subprocess, sys, time
from jpf_widget import Monitor

# the garbage collector's pauses in this process: a monitor runs inside the user's kernel,
# whose every thread stops while a collection walks the objects the monitor holds
pauses = []
def timed(phase, info, started=[0.0]):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        pauses.append(time.perf_counter() - started[0])

def high_water():
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so a fresh
    # process started by a big one would report its parent's peak
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

path, count = sys.argv[1], int(sys.argv[2])
publisher = subprocess.Popen([sys.executable, "-c", sys.argv[3], path, *sys.argv[4:7]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
publisher.stdout.readline()
monitor = Monitor(path)
monitor.wait_until_connected(30)  # heartbeat answered for 2 s: subscribed by then
base = high_water()
chunk = int(sys.argv[6])
gc.callbacks.append(timed)
started = time.perf_counter()
for sent in range(0, count, chunk):
    publisher.stdin.write("\n"); publisher.stdin.flush()
    target = min(sent + chunk, count)
    while monitor.stats["captured"] < target:
        time.sleep(0.002)
gc.callbacks.remove(timed)  # what follows is this benchmark's own search of the whole log
publisher.stdin.write("\n"); publisher.stdin.flush()
monitor.wait_for("stream", timeout=600)
elapsed = time.perf_counter() - started
peak = high_water()
full = []  # a full collection with the log at its budget: what every one costs the kernel
for _ in range(3):
    cpu = time.process_time()
    gc.collect()
    full.append(time.process_time() - cpu)
stats = monitor.stats
publisher.stdin.write("\n"); publisher.stdin.flush(); publisher.wait(10)
monitor.close()
print(json.dumps({"base": base, "peak": peak, "elapsed": elapsed, "gc": [len(pauses),
    sum(pauses), max(pauses, default=0.0), min(full)], "stats": {
    k: stats[k] for k in ("captured", "held", "held_bytes", "evicted", "evicted_bytes", "lost")}}))
"""


def run() -> list[dict[str, Any]]:
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="jpf-memory-"))
    for label, count, size, chunk in CASES:
        path = folder / f"kernel-{count}-{size}.json"
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                MEASURE,
                str(path),
                str(count),
                PUBLISHER,
                *map(str, (count, size, chunk)),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        stats = result["stats"]
        growth = result["peak"] - result["base"]
        rows.append(
            {
                "case": label,
                "sent": count + 1,
                "captured": stats["captured"],
                "lost": stats["lost"],
                "held": stats["held"],
                "evicted": stats["evicted"],
                "held MiB (accounted)": round(stats["held_bytes"] / 2**20),
                "peak RSS above attached, MiB": round(growth / 2**20),
                "budget + overhead, MiB": (BUDGET + OVERHEAD) // 2**20,
                "under": growth <= BUDGET + OVERHEAD,
                "seconds": round(result["elapsed"], 1),
                "GC runs / total s / longest ms": "{} / {:.2f} / {:.0f}".format(
                    result["gc"][0], result["gc"][1], result["gc"][2] * 1000
                ),
                "full collection after, CPU ms": round(result["gc"][3] * 1000, 1),
            }
        )
    return rows
