"""The tap's cost: a tapped ipykernel against an untapped one, side by side in one run.

Two ipykernels, each started by a ``KernelManager`` in a process of its own (a *host*), with
the same arguments: kernelspec ``python3`` (direct) and ``python3-tap``
(``jpf_widget.tap.kernelspec.install``: the ``jpf-tap`` provisioner, whose relay runs in the
host's process, so that host's CPU time is the tap's). A *driver* process holds one shell socket
to each kernel and does all the client work. This process holds only the Monitors, one per
kernel (headless), and its CPU time is theirs. For the floods an independent raw ``SUB``
(``RCVHWM=0``, a process of its own) listens beside each Monitor: on the tap's capture socket,
and on the direct kernel's iopub, so that both sides carry the same readers.

- **Added latency**: ``kernel_info`` round trips on shell, direct and through the tap, the
  arms alternating every 10 round trips (AB, BA, AB, ...): with no one watching; with a SUB
  subscribed to the capture but stopped (SIGSTOP: the tap copies and sends, no reader process
  competes for the cores); with a Monitor on each kernel. Goal: p50 at most +0.3 ms, p99 at
  most +1 ms.
- **Throughput**, the arms in ABBA order (ABBABAAB for the floods from the kernel), so that a
  drift of the machine's speed cancels:
  100,000 ``comm.send`` from the kernel (the flood of ``benchmarks/flood.py``), request to
  reply; and 20,000 ``comm_msg`` from the driver to a comm target that only counts them (sent as
  fast as the driver can), timed until the kernel's answer to a following request says it has
  handled them all. Goal: tapped at least 0.95 of direct, messages per second.
- **Zero loss**: per tapped flood, the tap's own count of the frames it relayed (its status
  socket, before and after) against the frames the raw SUB received, and every msg_id the raw SUB
  received must be in the Monitor. The Monitor's ``lost`` count against the gaps in the kernel's
  msg_id counter among what the tap relayed; ``tap_dropped_frames``.
- **CPU**: the tapped host's CPU time per message relayed (the direct host's is the control: a
  KernelManager alone does nothing meanwhile); the kernels' per flood message; this process's
  per message the Monitor captured.

Each flood's details (without the msg_ids) are left in ``windows.json`` in the run's temporary
directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson
import psutil
import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

import jpf_widget
from benchmarks.flood import flood
from jpf_widget.tap import tap_info, tap_status
from jpf_widget.tap.kernelspec import install

ROOT = Path(__file__).resolve().parents[1]
OUT_COUNT = 100_000  # comm messages from the kernel
IN_COUNT = 20_000  # comm messages from the client
ROUND_TRIPS = 2_000  # kernel_info round trips per arm and phase
BLOCK = 10  # round trips per block, arms alternating
ARMS = ("direct", "tapped")
# the floods' order: each arm as often early as late, so a drift in the machine's speed cancels
ORDER = {
    "out": ("tapped", "direct", "direct", "tapped", "direct", "tapped", "tapped", "direct"),
    "in": ("tapped", "direct", "direct", "tapped"),
}
LATENCY = {"cmd": "latency", "rounds": ROUND_TRIPS, "block": BLOCK}
SETTLE = 1.2  # seconds without a new captured message: a monitor's probe comes after 0.5
DELIM = b"<IDS|MSG>"

KERNEL_FLOOD = flood(OUT_COUNT, "jpf.bench.tap")
SINK = """
_jpf_sink = [0]
def _jpf_sink_target(comm, msg):
    comm.on_msg(lambda m: _jpf_sink.__setitem__(0, _jpf_sink[0] + 1))
get_ipython().kernel.comm_manager.register_target("jpf.sink", _jpf_sink_target)
"""


# ------------------------------------------------------------------------------- child processes


def child_main() -> None:
    """Entry point of the child processes: ``host``, ``driver`` or ``raw``."""
    role, *args = sys.argv[1:]
    roles: dict[str, Callable[..., None]] = {"host": _host, "driver": _driver, "raw": _raw}
    roles[role](*args)


def _host(kernel_name: str, spec_dir: str, runtime: str) -> None:
    """Start a kernel with a KernelManager of our own; stop it when stdin says so."""
    options: dict[str, Any] = {}
    if spec_dir:
        options["kernel_spec_manager"] = KernelSpecManager(kernel_dirs=[spec_dir])
    manager = KernelManager(
        kernel_name=kernel_name,
        connection_file=str(Path(runtime) / f"kernel-{uuid.uuid4()}.json"),
        **options,
    )
    manager.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    client = manager.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
    finally:
        client.stop_channels()
    print(json.dumps({"connection_file": manager.connection_file}), flush=True)
    sys.stdin.readline()
    manager.shutdown_kernel(now=True)


class _Shell:
    """A client's shell socket to one kernel (jupyter_client's routing id and signing)."""

    def __init__(self, connection_file: str) -> None:
        client = BlockingKernelClient(connection_file=connection_file)
        client.load_connection_file()
        self.session = client.session
        self.socket: zmq.Socket[bytes] = client.connect_shell(identity=client.session.bsession)

    def send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg = self.session.send(self.socket, msg_type, content)
        return str(msg["header"]["msg_id"])

    def execute(self, code: str, **expressions: str) -> str:
        return self.send(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": expressions,
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )

    def wait(self, msg_id: str, timeout: float = 300) -> list[bytes]:
        """The reply to ``msg_id``, its frames from the delimiter on (others are skipped)."""
        deadline = time.monotonic() + timeout
        while self.socket.poll(int(max(0.0, deadline - time.monotonic()) * 1000)):
            frames = self.socket.recv_multipart()
            at = frames.index(DELIM)
            if orjson.loads(frames[at + 3]).get("msg_id") == msg_id:
                return frames[at:]
        raise TimeoutError(f"no reply to {msg_id} in {timeout} s")

    def expressions(self, msg_id: str, timeout: float = 300) -> dict[str, str]:
        """The ``text/plain`` of each user expression in the reply to an execute."""
        content = orjson.loads(self.wait(msg_id, timeout)[5])
        if content.get("status") != "ok":
            raise RuntimeError(f"the kernel answered {content}")
        return {
            name: value["data"]["text/plain"]
            for name, value in content.get("user_expressions", {}).items()
        }

    def run(self, code: str, **expressions: str) -> dict[str, str]:
        return self.expressions(self.execute(code, **expressions))


def _driver(direct: str, tapped: str) -> None:
    """The clients: commands as JSON lines on stdin, one JSON answer line each on stdout."""
    shells = {"direct": _Shell(direct), "tapped": _Shell(tapped)}
    for shell in shells.values():
        shell.run(SINK)
        for _ in range(100):  # warm up
            shell.wait(shell.send("kernel_info_request", {}))
    print("{}", flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        shell = shells.get(command.get("arm", ""), shells["direct"])
        answer: dict[str, Any]
        if command["cmd"] == "latency":
            answer = _latency(shells, command["rounds"], command["block"])
        elif command["cmd"] == "out":
            started = time.perf_counter()
            sent = shell.run(KERNEL_FLOOD, sent="end - start")["sent"]
            answer = {"elapsed": time.perf_counter() - started, "sent": int(sent)}
        elif command["cmd"] == "in":
            answer = _flood_in(shell, command["count"])
        else:
            return
        print(json.dumps(answer), flush=True)


def _latency(shells: dict[str, _Shell], rounds: int, block: int) -> dict[str, list[int]]:
    """``rounds`` kernel_info round trips per kernel (ns), in alternating blocks."""
    times: dict[str, list[int]] = {arm: [] for arm in shells}
    for number in range(rounds // block):
        for arm in ARMS if number % 2 == 0 else ARMS[::-1]:
            shell, record = shells[arm], times[arm]
            for _ in range(block):
                started = time.perf_counter_ns()
                shell.wait(shell.send("kernel_info_request", {}))
                record.append(time.perf_counter_ns() - started)
    return times


def _flood_in(shell: _Shell, count: int) -> dict[str, Any]:
    """``count`` comm_msg to the counting target as fast as this client can send them, then a
    request whose answer says how many the kernel has handled (shell is handled in order)."""
    before = int(shell.run("", n="_jpf_sink[0]")["n"])
    comm_id = uuid.uuid4().hex
    started = time.perf_counter()
    shell.send("comm_open", {"comm_id": comm_id, "target_name": "jpf.sink", "data": {}})
    for i in range(count):
        shell.send("comm_msg", {"comm_id": comm_id, "data": {"i": i}})
    sent = time.perf_counter() - started
    handled = int(shell.run("", n="_jpf_sink[0]")["n"]) - before
    return {"elapsed": time.perf_counter() - started, "send_s": sent, "handled": handled}


def _raw(url: str, kind: str) -> None:
    """An independent SUB: counts frames and messages per tag and keeps the msg_ids, window by
    window. ``mark PATH`` on stdin writes the window so far to PATH (after 0.3 s of quiet) and
    starts the next; EOF ends it."""
    sub = zmq.Context().socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(url)
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    tap = kind == "tap"
    frames_by: dict[str, int] = {}
    messages_by: dict[str, int] = {}
    types: dict[str, int] = {}
    ids: list[str] = []
    counters: dict[str, tuple[int, int, int]] = {}  # per msg_id prefix: lowest, highest, seen
    hello = not tap  # on the capture socket the tap says when our subscription is in force
    if not tap:
        time.sleep(0.5)
        print("ready", flush=True)
    cpu = time.process_time()

    def take(frames: list[bytes]) -> None:
        nonlocal hello
        if tap:
            tag, rest = frames[0].decode(), frames[1:]
            if tag == "tap!":
                if not hello and b'"hello"' in frames[1]:
                    hello = True
                    print("ready", flush=True)
                return
        else:
            tag, rest = "iopub<", frames
        frames_by[tag] = frames_by.get(tag, 0) + len(rest)
        messages_by[tag] = messages_by.get(tag, 0) + 1
        if DELIM in rest:
            header = orjson.loads(rest[rest.index(DELIM) + 2])
            key = f"{tag} {header['msg_type']}"
            types[key] = types.get(key, 0) + 1
            ids.append(header["msg_id"])
            if tag.endswith("<"):  # from the kernel: its counter
                prefix, _, number = header["msg_id"].rpartition("_")
                if number.isdigit():
                    low, high, seen = counters.get(prefix, (1 << 62, -1, 0))
                    n = int(number)
                    counters[prefix] = (min(low, n), max(high, n), seen + 1)

    while True:
        ready = dict(poller.poll())
        if sub in ready:
            for _ in range(1000):
                try:
                    take(sub.recv_multipart(zmq.NOBLOCK))
                except zmq.Again:
                    break
        if sys.stdin.fileno() in ready:
            line = sys.stdin.readline().split()
            if not line:
                return
            while sub.poll(300):
                take(sub.recv_multipart())
            window = {
                "frames": frames_by,
                "messages": messages_by,
                "types": types,
                "ids": ids,
                "counters": counters,
                "cpu": time.process_time() - cpu,
            }
            Path(line[1]).write_bytes(orjson.dumps(window))
            frames_by, messages_by, types, ids, counters = {}, {}, {}, [], {}
            cpu = time.process_time()
            print("ok", flush=True)


# ---------------------------------------------------------------------------------- this process


class _Child:
    """A child process of this module, spoken to in lines."""

    def __init__(self, *args: str, stderr: Path | None = None) -> None:
        self.args = args
        with open(stderr or os.devnull, "ab") as errors:  # the kernels' warnings go there
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from benchmarks.tap import child_main; child_main()",
                    *args,
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors if stderr else None,
                text=True,
            )
        self.ps = psutil.Process(self.process.pid)

    @property
    def stdin(self) -> IO[str]:
        assert self.process.stdin is not None
        return self.process.stdin

    def line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"child {self.args} ended: {self.process.wait()}")
        return line

    def ask(self, command: dict[str, Any]) -> Any:
        self.stdin.write(json.dumps(command) + "\n")
        self.stdin.flush()
        return json.loads(self.line())

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.stdin.close()
                self.process.wait(60)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _settle(*monitors: Any, quiet: float = SETTLE, timeout: float = 300) -> None:
    """Wait until the monitors have captured nothing new for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = [-1], time.monotonic()
    while time.monotonic() < deadline:
        captured = [monitor.stats["captured"] for monitor in monitors]
        if captured != last:
            last, since = captured, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)
    raise TimeoutError("the monitors never went quiet")


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] / 1e6


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _span(values: list[float], digits: int = 0) -> str:
    """A median, and the range when there is more than one value."""
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}"
    return f"{_median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


class _Bench:
    """Everything this process holds during a run."""

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        prefix = runtime / "prefix"
        install("python3", prefix=prefix)
        specs = str(prefix / "share" / "jupyter" / "kernels")
        self.hosts = {
            "direct": _Child("host", "python3", "", str(runtime), stderr=runtime / "direct.log"),
            "tapped": _Child(
                "host", "python3-tap", specs, str(runtime), stderr=runtime / "tap.log"
            ),
        }
        self.files = {
            arm: json.loads(host.line())["connection_file"] for arm, host in self.hosts.items()
        }
        tap = tap_info(self.files["tapped"])
        assert tap is not None
        self.tap = tap
        self.driver = _Child("driver", self.files["direct"], self.files["tapped"])
        self.driver.line()
        self.kernels = {arm: host.ps.children()[0] for arm, host in self.hosts.items()}
        self.monitors: dict[str, Any] = {}
        self.raws: dict[str, _Child] = {}
        self.windows: list[dict[str, Any]] = []

    def attach(self) -> None:
        """A Monitor on each kernel."""
        for arm in ARMS:
            # the widget is imported here, in this process only: the children need none of it
            monitor = jpf_widget.Monitor(self.files[arm], budget=1 << 31)
            monitor.wait_until_connected(60)
            monitor.wait_for("kernel_info_reply", timeout=60)
            self.monitors[arm] = monitor
        _settle(*self.monitors.values())

    def listen(self, arm: str = "tapped") -> _Child:
        """An independent SUB, subscribed: on the tap's capture socket, or on the direct
        kernel's iopub."""
        if arm == "tapped":
            raw = _Child("raw", self.tap.url, "tap")
        else:
            info = json.loads(Path(self.files[arm]).read_text())
            raw = _Child("raw", f"{info['transport']}://{info['ip']}:{info['iopub_port']}", "iopub")
        raw.line()
        return raw

    def relayed(self) -> dict[str, int]:
        """Frames the tap has relayed, per tag."""
        counts = tap_status(self.tap)["counts"]
        return {str(tag): int(value["frames"]) for tag, value in counts.items()}

    def mark(self, arm: str, name: str) -> dict[str, Any]:
        """What ``arm``'s raw SUB received since its last mark."""
        path = self.runtime / f"{arm}-{name}.json"
        raw = self.raws[arm]
        raw.stdin.write(f"mark {path}\n")
        raw.stdin.flush()
        raw.line()
        window: dict[str, Any] = orjson.loads(path.read_bytes())
        return window

    def window(self, kind: str, arm: str, number: int) -> dict[str, Any]:
        """One flood on ``arm``, with everything counted around it."""
        monitor = self.monitors[arm]
        _settle(*self.monitors.values())
        self.mark(arm, f"{kind}-{number}-before")  # what came before: not this window's
        relayed = self.relayed()
        hosts = {a: host.cpu() for a, host in self.hosts.items()}
        kernels = {a: _cpu_of(kernel) for a, kernel in self.kernels.items()}
        cpu, before = _cpu(), monitor.stats
        if kind == "out":
            result = self.driver.ask({"cmd": "out", "arm": arm})
        else:
            result = self.driver.ask({"cmd": "in", "arm": arm, "count": IN_COUNT})
        _settle(monitor)
        cpu, after = _cpu() - cpu, monitor.stats
        hosts = {a: host.cpu() - hosts[a] for a, host in self.hosts.items()}
        kernels = {a: _cpu_of(kernel) - kernels[a] for a, kernel in self.kernels.items()}
        counts = self.relayed()
        raw = self.mark(arm, f"{kind}-{number}")
        window = {
            "kind": kind,
            "arm": arm,
            "rate": (OUT_COUNT if kind == "out" else IN_COUNT) / result["elapsed"],
            "result": result,
            "monitor_cpu": cpu,
            "captured": after["captured"] - before["captured"],
            "monitor_comm_msg": after["by_type"].get("comm_msg", 0)
            - before["by_type"].get("comm_msg", 0),
            "host_cpu": hosts,
            "kernel_cpu": kernels,
            "relayed": {tag: n - relayed.get(tag, 0) for tag, n in counts.items()},
            "raw": raw,
            "lost": after["lost"] - before["lost"],
            "tap_dropped_frames": after["tap_dropped_frames"],
        }
        self.windows.append(window)
        return window

    def close(self) -> None:
        for monitor in self.monitors.values():
            monitor.close()
        for child in [*self.raws.values(), self.driver, *self.hosts.values()]:
            child.stop()


def _cpu_of(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _latency_rows(times: dict[str, list[int]], watched: str) -> list[dict[str, Any]]:
    rows = []
    for name, q, goal in (("p50", 0.5, 0.3), ("p99", 0.99, 1.0)):
        direct, tapped = _percentile(times["direct"], q), _percentile(times["tapped"], q)
        rows.append(
            {
                "measure": f"kernel_info round trip on shell, {name}, ms ({watched}; "
                f"{len(times['direct']):,} each, arms alternating every {BLOCK})",
                "direct": f"{direct:.3f}",
                "tapped": f"{tapped:.3f}",
                "tapped vs direct": f"{tapped - direct:+.3f} ms",
                "goal": f"<= +{goal} ms",
                "met": _met(tapped - direct <= goal),
            }
        )
    return rows


def _machine() -> tuple[float, float]:
    """Busy and stolen CPU seconds of the whole machine so far."""
    times = psutil.cpu_times()
    stolen = getattr(times, "steal", 0.0)
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0) - stolen
    return busy, stolen


def _ours(started: dict[int, float]) -> float:
    """CPU seconds this process and its children (hosts, kernels, driver, listeners) used
    since ``started`` (each process's CPU then; 0 for those started since)."""
    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            total += _cpu_of(process) - started.get(process.pid, 0.0)
        except psutil.Error:
            continue
    return total


def run() -> list[dict[str, Any]]:
    runtime = Path(tempfile.mkdtemp(prefix="jpf-bench-tap-"))
    bench = _Bench(runtime)
    try:
        load_before = os.getloadavg()
        started = time.monotonic()
        (busy_before, stolen_before), ours_before = (
            _machine(),
            {p.pid: _cpu_of(p) for p in [psutil.Process(), *psutil.Process().children(True)]},
        )
        latency = {"alone": bench.driver.ask(LATENCY)}
        # the tap's own work for a subscriber, without a reader's process competing for the
        # cores: a SUB that is subscribed and stopped (the capture queues up to its HWM)
        stopped = bench.listen()
        stopped.process.send_signal(signal.SIGSTOP)
        latency["stopped"] = bench.driver.ask(LATENCY)
        stopped.process.send_signal(signal.SIGCONT)
        stopped.stop()
        bench.attach()
        latency["watched"] = bench.driver.ask(LATENCY)
        bench.raws = {arm: bench.listen(arm) for arm in ARMS}
        for kind in ("out", "in"):
            for number, arm in enumerate(ORDER[kind]):
                bench.window(kind, arm, number)
        ours = _ours(ours_before)
        busy_after, stolen_after = _machine()
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()
        ids = {arm: {m.msg_id for m in bench.monitors[arm].messages} for arm in ARMS}
        rows = _latency_rows(latency["alone"], "no one watching")
        rows += _latency_rows(
            latency["stopped"], "a SUB on the capture, stopped: subscribed, not reading"
        )
        rows += _latency_rows(latency["watched"], "a Monitor on each kernel")
        rows += _flood_rows(bench.windows, ids)
        busy = busy_after - busy_before
        rows.append(
            {
                "measure": "the machine meanwhile (2 cores): load average (1 min) at start / "
                "end; CPU busy over the measured part, in cores: all / this benchmark's "
                "processes / everyone else's (and stolen by the hypervisor)",
                "direct": f"load {load_before[0]:.2f} / {load_after[0]:.2f}",
                "tapped": f"busy {busy / elapsed:.2f} / ours {ours / elapsed:.2f} / others "
                f"{(busy - ours) / elapsed:.2f} (stolen "
                f"{(stolen_after - stolen_before) / elapsed:.2f}) over {elapsed:.0f} s",
                "tapped vs direct": "",
                "goal": "",
                "met": "",
            }
        )
        (runtime / "windows.json").write_bytes(
            orjson.dumps(
                [
                    w | {"raw": w["raw"] | {"ids": len(w["raw"].get("ids", ()))}}
                    for w in bench.windows
                ]
            )
        )
        return rows
    finally:
        bench.close()


def _flood_rows(windows: list[dict[str, Any]], ids: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The floods' rows; ``ids`` are the msg_ids each Monitor holds."""
    rows: list[dict[str, Any]] = []
    for kind, count, what in (
        ("out", OUT_COUNT, "comm.send from the kernel, request to reply"),
        ("in", IN_COUNT, "comm_msg from a client, until the kernel has handled them"),
    ):
        runs = {arm: [w for w in windows if w["kind"] == kind and w["arm"] == arm] for arm in ARMS}
        direct, tapped = runs["direct"], runs["tapped"]
        rates = {arm: [w["rate"] for w in runs[arm]] for arm in ARMS}
        ratio = _median(rates["tapped"]) / _median(rates["direct"])
        rows.append(
            {
                "measure": f"throughput, messages/s: {count:,} {what} (median of "
                f"{len(direct)} floods, range; order {_order(kind)})",
                "direct": _span(rates["direct"]),
                "tapped": _span(rates["tapped"]),
                "tapped vs direct": f"{ratio:.3f}",
                "goal": ">= 0.95",
                "met": _met(ratio >= 0.95),
            }
        )
        # The flood's own messages at each step: sent; reached the raw SUB (tapped: = reached
        # the tap, for the raw SUB got every frame the tap relayed: checked in the next row);
        # in the Monitor.
        flood_type = "iopub< comm_msg" if kind == "out" else "shell> comm_msg"
        reached = {arm: [w["raw"]["types"].get(flood_type, 0) for w in runs[arm]] for arm in ARMS}
        monitored = {arm: [w["monitor_comm_msg"] for w in runs[arm]] for arm in ARMS}
        rows.append(
            {
                "measure": f"the flood's comm_msg per flood ({kind}): sent -> reached the raw "
                "SUB (tapped: relayed by the tap) -> in the Monitor",
                "direct": f"{count:,} -> {_list(reached['direct'])} -> {_list(monitored['direct'])}"
                if kind == "out"
                else "not visible without a tap (shell)",
                "tapped": f"{count:,} -> {_list(reached['tapped'])} -> "
                f"{_list(monitored['tapped'])}",
                "tapped vs direct": "",
                "goal": "",
                "met": "",
            }
        )
        held = {arm: [len(w["raw"]["ids"]) for w in runs[arm]] for arm in ARMS}
        missing = {arm: [len(set(w["raw"]["ids"]) - ids[arm]) for w in runs[arm]] for arm in ARMS}
        unheard = [sum(w["relayed"].values()) - sum(w["raw"]["frames"].values()) for w in tapped]
        rows.append(
            {
                "measure": f"zero loss ({kind}): messages the raw SUB received per flood (tapped: "
                "all channels), of which the Monitor lacks; tapped: frames the tap relayed (its "
                "own counts before and after) that the raw SUB did not receive",
                "direct": f"{_list(held['direct'])}, lacks {_list(missing['direct'])}",
                "tapped": f"{_list(held['tapped'])}, lacks {_list(missing['tapped'])}; "
                f"unheard frames {_list(unheard)}",
                "tapped vs direct": "",
                "goal": "0 lacking, 0 unheard",
                "met": _met(not any(missing["tapped"]) and not any(unheard)),
            }
        )
        # what the kernel sent that never reached the tap: gaps in its counter among the
        # messages the tap relayed (it relays every reply too, so there is no excused gap)
        truth = [_gaps(w["raw"]["counters"]) for w in tapped]
        lost = {arm: [w["lost"] for w in runs[arm]] for arm in ARMS}
        rows.append(
            {
                "measure": f"Monitor's lost count per flood ({kind}); tapped: / the kernel's "
                "messages that never reached the tap (gaps in its msg_id counter); "
                "tap_dropped_frames at the end",
                "direct": _list(lost["direct"]),
                "tapped": f"{_list(lost['tapped'])} / {_list(truth)}; "
                f"{tapped[-1]['tap_dropped_frames']}",
                "tapped vs direct": "",
                "goal": "lost = gaps",
                "met": _met(lost["tapped"] == truth),
            }
        )
        # CPU: the tapped host's (the tap's) per message relayed; the direct host's beside it
        # is the control (a KernelManager alone). The kernels' per flood message.
        relayed = [sum(w["raw"]["messages"].values()) for w in tapped]
        tap_us = [
            w["host_cpu"]["tapped"] / max(1, n) * 1e6 for w, n in zip(tapped, relayed, strict=True)
        ]
        control_us = [w["host_cpu"]["direct"] / count * 1e6 for w in direct]
        rows.append(
            {
                "measure": f"host process CPU, us per message ({kind}): tapped: the tap's, per "
                "message relayed (all channels); direct: a KernelManager alone (the control), "
                "per flood message",
                "direct": _span(control_us, 1),
                "tapped": _span(tap_us, 1),
                "tapped vs direct": "",
                "goal": "",
                "met": "",
            }
        )
        kernel_us = {arm: [w["kernel_cpu"][arm] / count * 1e6 for w in runs[arm]] for arm in ARMS}
        rows.append(
            {
                "measure": f"kernel process CPU, us per flood message ({kind})",
                "direct": _span(kernel_us["direct"], 1),
                "tapped": _span(kernel_us["tapped"], 1),
                "tapped vs direct": f"{_ratio(kernel_us['tapped'], kernel_us['direct']):.3f}",
                "goal": "",
                "met": "",
            }
        )
        monitor_us = {
            arm: [w["monitor_cpu"] / max(1, w["captured"]) * 1e6 for w in runs[arm]] for arm in ARMS
        }
        raw_us = {
            arm: [
                w["raw"]["cpu"] / max(1, sum(w["raw"]["messages"].values())) * 1e6
                for w in runs[arm]
            ]
            for arm in ARMS
        }
        rows.append(
            {
                "measure": f"Monitor CPU (this process), us per message captured ({kind}); "
                "in brackets the raw SUB's (receive, parse the header: a floor)",
                "direct": f"{_span(monitor_us['direct'], 1)} [{_span(raw_us['direct'], 1)}]",
                "tapped": f"{_span(monitor_us['tapped'], 1)} [{_span(raw_us['tapped'], 1)}]",
                "tapped vs direct": "",
                "goal": "",
                "met": "",
            }
        )
    return rows


def _list(values: list[int]) -> str:
    return ", ".join(f"{v:,}" for v in values)


def _ratio(tapped: list[float], direct: list[float]) -> float:
    return _median(tapped) / _median(direct)


def _gaps(counters: dict[str, list[int]]) -> int:
    """Numbers missing from the kernel's msg_id counter (its prefix: the one most seen)."""
    if not counters:
        return 0
    low, high, seen = max(counters.values(), key=lambda c: c[2])
    return high - low + 1 - seen


def _order(kind: str) -> str:
    return "".join("A" if arm == "tapped" else "B" for arm in ORDER[kind]) + " (A tapped)"
