"""``jpf check``: lint a recording, live traffic, or a kernel driven through a standard script.

``jpf check --kernel NAME`` starts kernelspec NAME behind the tap (a temporary ``NAME-tap``
kernelspec on the ``jpf-tap`` provisioner, so every channel is seen), drives it through
:data:`STEPS` with a jupyter_client client (code for the kernel's language from
:data:`SNIPPETS`), shuts it down, and reports every problem found::

    {"source": "kernel python3", "capture": "tap", "messages": 212, "errors": 0,
     "warnings": 1, "by_rule": {"reply.status.aborted": 1},
     "steps": [{"step": "kernel_info", "answered": true}, …],
     "problems": [{"rule": …, "severity": …, "message": …, "path": …, "seq": …,
                   "msg_id": …, "msg_type": …, "link": …}, …]}

is the ``--json`` form of the report; the text form lists the steps, then the problems grouped
by rule with the first few messages of each. The exit status is 1 when an error was found.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from ..backends import Backend
from ..log import MessageLog
from ..messages import Marker, Message
from ..tap.kernelspec import install, tapped_name
from .linter import Findings
from .spec import RULES
from .validate import problem

__all__ = ["SNIPPETS", "STEPS", "Report", "check_kernel", "lint_entries", "lint_window", "settle"]

_REPLY_TIMEOUT: Final = 30.0
_INPUT_TIMEOUT: Final = 10.0  # a kernel that supports input asks at once
_ALIVE_EVERY: Final = 1.0  # while waiting for a reply, look this often whether the kernel died
_QUIET: Final = 0.5  # the capture is over once nothing came for this long after shutdown
_SETTLE_MAX: Final = 10.0
_EXAMPLES: Final = 3  # messages shown per rule in the text report

# Code for each step that runs code, by language_info.name. A language without an entry gets
# the steps that need no code.
SNIPPETS: Final[dict[str, dict[str, str]]] = {
    "python": {
        "quiet": "jpf_check = 6 * 7",
        "output": "print('jpf check')\njpf_check",
        "error": "1 / 0",
        "input": "jpf_answer = input('jpf check: ')",
        "long": "import time\ntime.sleep(30)",
        "complete": "jpf_ch",
        "inspect": "print",
        "incomplete": "for i in range(3):",
    },
    "bash": {
        "quiet": "jpf_check=42",
        "output": "echo jpf check",
        "error": "ls /jpf-check-no-such-file",
        "input": "read -p 'jpf check: ' jpf_answer",
        "long": "sleep 30",
        "complete": "ech",
        "inspect": "echo",
        "incomplete": "for i in 1 2 3; do",
    },
}

STEPS: Final = (
    "kernel_info",
    "execute (no output)",
    "execute (output)",
    "execute (error)",
    "complete",
    "inspect",
    "is_complete",
    "history",
    "comm_info",
    "comm open / msg / close",
    "input",
    "interrupt",
    "shutdown",
)


@dataclass
class Report:
    """What ``jpf check`` found."""

    source: str
    capture: str
    findings: Findings
    messages: dict[int, Message] = field(default_factory=dict)  # those with problems, by seq
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.findings.severities["error"]

    def to_dict(self) -> dict[str, Any]:
        stats = self.findings.stats()
        problems = []
        for each in self.findings.problems:
            message = self.messages.get(each.seq)
            problems.append(each.to_dict() | {"msg_type": message.msg_type if message else ""})
        return {
            "source": self.source,
            "capture": self.capture,
            "messages": stats["checked"],
            "errors": stats["errors"],
            "warnings": stats["warnings"],
            "by_rule": stats["by_rule"],
            "steps": self.steps,
            "problems": problems,
        }

    def text(self) -> str:
        stats = self.findings.stats()
        lines = [f"jpf check: {self.source} ({self.capture}), {stats['checked']} messages"]
        for step in self.steps:
            said = "answered" if step["answered"] else f"NOT answered ({step.get('why', '')})"
            lines.append(f"  {step['step']}: {said}")
        by_rule: dict[str, list[Any]] = {}
        for each in self.findings.problems:
            by_rule.setdefault(each.rule, []).append(each)
        for rule_id, found in sorted(
            by_rule.items(), key=lambda item: (item[1][0].severity != "error", item[0])
        ):
            rule = RULES[rule_id]
            count = self.findings.counts[rule_id]
            lines.append(f"{rule.severity.upper()} {rule_id} x{count}: {rule.reason}")
            lines.append(f"  {rule.link}")
            for each in found[:_EXAMPLES]:
                message = self.messages.get(each.seq)
                what = f"#{each.seq} {message.channel} {message.msg_type}" if message else ""
                where = f" at {each.path}" if each.path else ""
                lines.append(f"  {what}{where}: {each.message}" if what else f"  {each.message}")
        lines.append(
            f"{stats['errors']} errors, {stats['warnings']} warnings"
            + ("" if by_rule else ": the traffic follows the messaging spec")
        )
        return "\n".join(lines)


def lint_entries(
    entries: Iterable[Message | Marker], source: str, capture: str, finish: bool = True
) -> Report:
    """Lint messages in capture order (a recording's, a live capture's)."""
    findings = Findings(full=capture == "tap")
    report = Report(source, capture, findings)
    for entry in entries:
        if isinstance(entry, Marker):
            findings.mark(entry)
            continue
        before = len(findings.problems)
        findings.feed(entry)
        if len(findings.problems) != before:
            report.messages[entry.seq] = entry
    if finish:
        findings.finish()
    return report


def lint_log(log: MessageLog, source: str, capture: str) -> Report:
    """Lint every message a log holds, then the end of its capture."""
    entries = log.entries_after(-1)
    report = lint_entries(entries, source, capture)
    held = {entry.seq: entry for entry in entries if isinstance(entry, Message)}
    report.messages = {
        each.seq: held[each.seq] for each in report.findings.problems if each.seq in held
    }
    return report


# -- a kernel driven through the script ------------------------------------------------------


def check_kernel(name: str, budget: int = 256 * 1024 * 1024) -> Report:
    """Start kernelspec ``name`` behind the tap, drive it through :data:`STEPS`, shut it down,
    and lint all it said and was told."""
    with tempfile.TemporaryDirectory(prefix="jpf-check-") as folder:
        install(name, prefix=folder)  # raises TapSpecError (a RuntimeError) for an unknown name
        specs = KernelSpecManager(kernel_dirs=[str(Path(folder) / "share" / "jupyter" / "kernels")])
        manager = KernelManager(kernel_name=tapped_name(name), kernel_spec_manager=specs)
        manager.start_kernel()
        log = MessageLog(budget)
        backend: Backend | None = None
        client = manager.blocking_client()
        try:
            client.start_channels()
            client.wait_for_ready(timeout=60)
            backend = _attach(str(manager.connection_file), log)
            steps = _drive(client, manager, log)
            settle(log)
        finally:
            client.stop_channels()
            if backend is not None:
                backend.close()
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
            else:  # the script's shutdown ended it: the tap's relay and its folder are left
                manager.cleanup_resources()
    report = lint_log(log, f"kernel {name}", "tap")
    if steps and steps[-1]["step"] == "died":
        during = steps.pop()["during"]
        report.findings.add(
            problem("script.kernel_died", f"the kernel's process exited during step {during!r}")
        )
    report.steps = steps
    return report


def _attach(connection_file: str, log: MessageLog) -> Backend:
    from ..cli import attach  # noqa: PLC0415 (the command line imports this module)

    backend = attach(connection_file, log, threading.Event())
    if backend.capture != "tap":
        backend.close()
        raise RuntimeError(f"the kernel is not seen through the tap ({backend.capture})")
    return backend


def settle(log: MessageLog, longest: float = _SETTLE_MAX) -> None:
    """Wait until nothing new came for _QUIET seconds (at most ``longest`` seconds)."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        if log.wait_for(lambda _: True, _QUIET, log.last_seq) is None:
            return


def lint_window(
    log: MessageLog, entries: list[Message | Marker], source: str, capture: str
) -> Report:
    """Lint a live capture cut at the end of a time window (``entries``, what the log held
    then): what came after it is added only where it finishes what began inside the window
    (replies and outputs of its requests), once the traffic settles or a second passed, since
    one channel's copies may reach the capture after another's."""
    cutoff = entries[-1].seq if entries else -1
    settle(log, 1.0)
    began = {entry.msg_id for entry in entries if isinstance(entry, Message)}
    began |= {entry.parent_id for entry in entries if isinstance(entry, Message)}
    began.discard("")
    late = [
        entry
        for entry in log.entries_after(cutoff)
        if isinstance(entry, Message) and entry.parent_id in began
    ]
    return lint_entries([*entries, *late], source, capture)


def _reply(
    client: BlockingKernelClient,
    manager: KernelManager,
    msg_id: str,
    channel: str = "shell",
    timeout: float = _REPLY_TIMEOUT,
) -> dict[str, Any]:
    """The reply to ``msg_id`` (other replies read on the way are dropped); queue.Empty when
    none came in ``timeout`` seconds, or the kernel's process exited."""
    get = client.get_control_msg if channel == "control" else client.get_shell_msg
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            reply: dict[str, Any] = get(timeout=min(remaining, _ALIVE_EVERY))
        except queue.Empty:
            if not manager.is_alive():
                raise
            continue
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply
    raise queue.Empty


def _drive(
    client: BlockingKernelClient, manager: KernelManager, log: MessageLog
) -> list[dict[str, Any]]:
    """Run the script; what each step got. A kernel that dies ends it (with a ``dead`` marker
    in the log: the requests it left unanswered are its death's, reported as such)."""
    try:
        return _script(client, manager)
    except _Died as died:
        log.add_marker("dead", f"the kernel's process exited during step {died.step!r}")
        died.steps.append({"step": "died", "during": died.step})
        return died.steps


class _Died(Exception):
    def __init__(self, step: str, steps: list[dict[str, Any]]) -> None:
        super().__init__(step)
        self.step, self.steps = step, steps


def _script(client: BlockingKernelClient, manager: KernelManager) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    info = _reply(client, manager, client.kernel_info())
    language = str(info["content"].get("language_info", {}).get("name", "")).lower()
    steps.append({"step": "kernel_info", "answered": True})
    code = SNIPPETS.get(language, {})

    def step(name: str, send: Callable[[], str], channel: str = "shell") -> None:
        record: dict[str, Any] = {"step": name, "answered": False}
        steps.append(record)
        try:
            _reply(client, manager, send(), channel)
        except queue.Empty:
            record["why"] = f"no reply within {_REPLY_TIMEOUT:g} s"
        else:
            record["answered"] = True
        if name != "shutdown":  # after its reply, the kernel's process is meant to exit
            alive()

    def alive() -> None:
        if not manager.is_alive():
            steps[-1]["answered"] = False
            steps[-1]["why"] = "the kernel's process exited"
            raise _Died(steps[-1]["step"], steps)

    def skipped(name: str) -> None:
        steps.append({"step": name, "answered": False, "why": f"no code for {language!r}"})

    for name, key in (
        ("execute (no output)", "quiet"),
        ("execute (output)", "output"),
        ("execute (error)", "error"),
    ):
        if key in code:
            step(name, lambda k=key: client.execute(code[k], allow_stdin=False))  # type: ignore[misc]
        else:
            skipped(name)
    text = code.get("complete", "")
    step("complete", lambda: client.complete(text, len(text)))
    text_inspect = code.get("inspect", "")
    step("inspect", lambda: client.inspect(text_inspect, len(text_inspect)))
    step("is_complete", lambda: client.is_complete(code.get("incomplete", "")))
    step("history", lambda: client.history(hist_access_type="tail", n=5))
    step("comm_info", client.comm_info)
    _comm(client, manager, steps)
    alive()
    if "input" in code:
        _input(client, manager, code["input"], steps)
        alive()
    else:
        skipped("input")
    if "long" in code:
        _interrupt(client, manager, code["long"], steps)
        alive()
    else:
        skipped("interrupt")
    step("shutdown", client.shutdown, "control")
    with contextlib.suppress(RuntimeError):
        manager.finish_shutdown(waittime=10)
    return steps


def _comm(
    client: BlockingKernelClient, manager: KernelManager, steps: list[dict[str, Any]]
) -> None:
    """A comm opened to a target the kernel does not know, a message on it, and its close: a
    kernel answers the open with a comm_close (or ignores it)."""
    session, channel = client.session, client.shell_channel
    for msg_type, content in (
        ("comm_open", {"comm_id": "jpf-check", "target_name": "jpf_check", "data": {}}),
        ("comm_msg", {"comm_id": "jpf-check", "data": {"ping": 1}}),
        ("comm_close", {"comm_id": "jpf-check", "data": {}}),
    ):
        channel.send(session.msg(msg_type, content))
    # no reply is owed: a kernel_info round trip tells they were handled
    _reply(client, manager, client.kernel_info())
    steps.append({"step": "comm open / msg / close", "answered": True})


def _input(
    client: BlockingKernelClient, manager: KernelManager, code: str, steps: list[dict[str, Any]]
) -> None:
    msg_id = client.execute(code, allow_stdin=True)
    record: dict[str, Any] = {"step": "input", "answered": False}
    steps.append(record)
    try:
        request = client.get_stdin_msg(timeout=_INPUT_TIMEOUT)
    except queue.Empty:
        record["why"] = f"no input_request within {_INPUT_TIMEOUT:g} s (interrupted)"
        manager.interrupt_kernel()  # whatever waits for input would hold up the rest
        with contextlib.suppress(queue.Empty):
            _reply(client, manager, msg_id)
        return
    # with its parent_header, which KernelClient.input() leaves out
    answer = client.session.msg("input_reply", {"value": "jpf check answer"}, parent=request)
    client.stdin_channel.send(answer)
    try:
        _reply(client, manager, msg_id)
    except queue.Empty:
        record["why"] = "no execute_reply after the input_reply"
        return
    record["answered"] = request["msg_type"] == "input_request"


def _interrupt(
    client: BlockingKernelClient, manager: KernelManager, code: str, steps: list[dict[str, Any]]
) -> None:
    """A long execution, interrupted once it has started (its execute_input, or busy)."""
    msg_id = client.execute(code, allow_stdin=False)
    record: dict[str, Any] = {"step": "interrupt", "answered": False}
    steps.append(record)
    deadline = time.monotonic() + _REPLY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            message = client.get_iopub_msg(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] in (
            "execute_input",
            "status",
        ):
            break
    manager.interrupt_kernel()
    try:
        _reply(client, manager, msg_id)
    except queue.Empty:
        record["why"] = "the interrupted execution never replied"
        return
    record["answered"] = True
