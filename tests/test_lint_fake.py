"""The linter against a fake kernel that breaks the messaging spec on purpose
(:mod:`tests.fake_kernel`): behind the tap, so every channel is seen, each violation is flagged
with the rule it breaks, on the message that breaks it, and no valid message is flagged; seen
from iopub only, the sequence rules that iopub can tell."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from jpf_widget import Monitor
from jpf_widget.cli import main as jpf
from jpf_widget.lint import RULES

from .conftest import Kernel
from .fake_kernel import SCENARIOS, kernelspec
from .test_tap import start_tapped

# requests the fake never answers with their reply: flagged on the request once capture ends
UNANSWERED = ("wrong_reply", "no_reply")


@pytest.fixture(scope="module")
def fake(runtime_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    kernels = kernelspec(tmp_path_factory.mktemp("fake"))
    kernel = start_tapped(
        runtime_dir, KernelSpecManager(kernel_dirs=[str(kernels)]), name="fake-tap"
    )
    yield kernel
    kernel.shutdown()


def test_every_violation_flagged_with_its_rule_and_nothing_else(
    fake: Kernel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = fake.client
    with Monitor(fake.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        assert monitor.capture == "tap"
        requests: dict[str, str] = {}
        for name in SCENARIOS:
            requests[client.execute(name)] = name
        requests[client.complete("x", 1)] = "complete"
        requests[client.is_complete("x")] = "is_complete"
        requests[client.history()] = "history"
        requests[client.comm_info()] = "comm_info"
        control = client.session.msg("kernel_info_request")
        client.control_channel.send(control)
        requests[control["header"]["msg_id"]] = "control kernel_info"
        for msg_id, name in requests.items():
            done = monitor.wait_for(
                lambda m, i=msg_id: m.msg_type == "fake_done" and m.parent_id == i, 30
            )
            assert done is not None, name
        # each channel's copies reach the capture on their own path: wait for every reply too
        # (but to the request never answered, and the one answered without a parent_header)
        for msg_id, name in requests.items():
            if name not in ("no_reply", "comm_info"):
                monitor.wait_for(
                    lambda m, i=msg_id: m.parent_id == i and m.msg_type.endswith("_reply"), 30
                )
        before_close = {p.rule for p in monitor.problems}
        assert "sequence.reply.missing" not in before_close  # a live request may still be answered
    problems = monitor.problems  # closed: the end of capture is checked too
    found: dict[int, set[str]] = defaultdict(set)
    for each in problems:
        found[each.seq].add(each.rule)
        assert each.severity == RULES[each.rule].severity
    unanswered = {i for i, name in requests.items() if name in UNANSWERED}
    expected_kinds: set[str] = set()
    messages = monitor.messages
    assert len(messages) > 200
    for message in messages:
        expect = set(message.metadata.get("expect", ()))
        if message.direction == "to_kernel" and message.msg_id in unanswered:
            expect = {"sequence.reply.missing"}
        expected_kinds |= expect
        scenario = requests.get(message.parent_id) or requests.get(message.msg_id)
        assert found.get(message.seq, set()) == expect, (scenario, message, message.content)
        # a message's own problems are those rules of the linter's that are not sequence rules
        own = {p.rule for p in message.problems}
        assert own == {r for r in expect if not r.startswith("sequence.")}, message
    assert len(expected_kinds) >= 25, sorted(expected_kinds)
    stats = monitor.stats["problems"]
    assert stats["unchecked"] == 0
    assert stats["checked"] == len(messages)
    assert sum(stats["by_rule"].values()) == len(problems)
    assert stats["errors"] + stats["warnings"] == len(problems)
    # the recording gives the same verdict, as a report and as JSON, and exit status 1
    trace = tmp_path / "fake.jsonl"
    monitor.save(trace)
    assert jpf(["check", str(trace), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["by_rule"] == stats["by_rule"]
    assert jpf(["check", str(trace)]) == 1
    text = capsys.readouterr().out
    for rule in stats["by_rule"]:
        assert f" {rule} x{stats['by_rule'][rule]}: {RULES[rule].reason}" in text
        assert RULES[rule].link in text


def _send(kernel: Kernel, code: str, date: datetime) -> str:
    """An execute_request dated ``date`` (what says whether its busy could have been seen)."""
    client = kernel.client
    request = client.session.msg("execute_request", {"code": code, "silent": False})
    request["header"]["date"] = date
    client.shell_channel.send(request)
    return str(request["header"]["msg_id"])


def test_seen_from_iopub_only_a_busy_is_owed_to_requests_sent_after_the_capture_began(
    runtime_dir: Path, tmp_path: Path
) -> None:
    """Without the tap, the sequence is judged from iopub: a missing busy is flagged for a
    request dated after the capture began, not for one dated before (its busy may have gone
    by); execute_input's counter never goes down; no reply is matched to a request unseen."""
    specs = KernelSpecManager(kernel_dirs=[str(kernelspec(tmp_path))])
    kernel = start_tapped(runtime_dir, specs, name="fake")
    try:
        with Monitor(kernel.kernel_id) as monitor:
            monitor.wait_until_connected(30)
            assert monitor.capture == "iopub"
            now = datetime.now(timezone.utc)
            sent = {
                _send(kernel, "no_busy", now + timedelta(seconds=5)): {"sequence.busy.missing"},
                _send(kernel, "no_busy", now - timedelta(hours=1)): set(),
                _send(kernel, "valid", now + timedelta(seconds=5)): set(),
                _send(kernel, "late_input", now + timedelta(seconds=5)): {
                    "sequence.execute_input.late"
                },
                _send(kernel, "count_back", now + timedelta(seconds=5)): {
                    "sequence.execution_count.increasing"
                },
            }
            for msg_id in sent:
                monitor.wait_for(lambda m, i=msg_id: m.msg_type == "fake_done" and m.parent_id == i)
        found: dict[str, set[str]] = defaultdict(set)
        for each in monitor.problems:
            message = next(m for m in monitor.messages if m.seq == each.seq)
            found[message.parent_id].add(each.rule)
        assert {msg_id: found.get(msg_id, set()) for msg_id in sent} == sent
    finally:
        kernel.shutdown()
