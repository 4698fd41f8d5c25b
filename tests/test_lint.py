"""The linter on real kernels: ipykernel's ordinary traffic behind the tap (print, displays and
their updates, errors, widgets, clear_output, input) has no errors; ``jpf check`` on a
recording, on live traffic and on a kernel it drives; problems never reported for a message not
yet checked; and the rules' documentation lists every rule."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from jpf_widget import Monitor
from jpf_widget.cli import main as jpf
from jpf_widget.lint import RULES, check
from jpf_widget.lint.conformance import STEPS
from jpf_widget.lint.linter import Linter
from jpf_widget.lint.spec import SPEC_URL
from jpf_widget.log import MessageLog
from jpf_widget.rows import body, row
from jpf_widget.wire import DELIMITER, split_frames

from .conftest import Kernel
from .test_tap import install_specs, tapped_kernels

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).parent.parent

CELLS = (
    "print('hello')",
    "from IPython.display import display, clear_output\n"
    "h = display('first', display_id=True)\nh.update('second')",
    "1 / 0",
    "import ipywidgets\nw = ipywidgets.IntSlider()\ndisplay(w)\nw.value = 5",
    "print('gone'); clear_output(wait=True); print('kept')",
    "6 * 7",
)


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    return install_specs(tmp_path_factory.mktemp("tap-prefix"))


@pytest.fixture
def start(runtime_dir: Path, specs: KernelSpecManager) -> Iterator[Callable[..., Kernel]]:
    with tapped_kernels(runtime_dir, specs) as start:
        yield start


def test_ipykernel_ordinary_traffic_has_no_errors(
    start: Callable[..., Kernel], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = start()
    client = kernel.client
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        assert monitor.capture == "tap"
        sent = [
            client.execute_interactive(cell, output_hook=lambda _m: None, timeout=60)
            for cell in CELLS
        ]

        def answer(request: dict[str, Any]) -> None:
            reply = client.session.msg("input_reply", {"value": "jpf"}, parent=request)
            client.stdin_channel.send(reply)

        last = client.execute_interactive(
            "name = input('name? ')",
            allow_stdin=True,
            stdin_hook=answer,
            output_hook=lambda _m: None,
            timeout=60,
        )
        # every request's reply and idle captured (each channel's copies come their own way)
        for reply in (*sent, last):
            request = reply["parent_header"]["msg_id"]
            monitor.wait_for(lambda m, r=request: m.parent_id == r and m.channel == "shell", 30)
            monitor.wait_for(
                lambda m, r=request: (
                    m.parent_id == r
                    and m.msg_type == "status"
                    and m.content["execution_state"] == "idle"
                ),
                30,
            )
        kinds = monitor.stats["by_type"]
        for msg_type in (
            "stream",
            "display_data",
            "update_display_data",
            "error",
            "comm_open",
            "comm_msg",
            "clear_output",
            "execute_result",
            "input_request",
            "input_reply",
        ):
            assert kinds.get(msg_type), msg_type
        trace = tmp_path / "ipykernel.jsonl"
        monitor.save(trace)
    errors = [p for p in monitor.problems if p.severity == "error"]
    assert errors == [], [(p, p.message) for p in errors]
    assert monitor.stats["problems"]["errors"] == 0
    assert monitor.stats["problems"]["checked"] == len(monitor.messages)
    # the recording gives the same verdict
    assert jpf(["check", str(trace), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["capture"] == "tap"
    assert report["errors"] == 0
    assert report["messages"] == len(monitor.messages)


def test_ipykernel_seen_from_iopub_only_has_no_errors(kernel: Kernel) -> None:
    """Without the tap only iopub (and the monitor's own replies) is seen: the same traffic is
    clean of errors there too."""
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        assert monitor.capture == "iopub"
        for cell in CELLS:
            kernel.run(cell, timeout=60)
        monitor.wait_for("update_display_data", 30)
    assert [p for p in monitor.problems if p.severity == "error"] == []
    assert monitor.stats["problems"]["checked"] == len(monitor.messages)


def relay_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("jpf-tap-")}


def test_jpf_check_drives_ipykernel_through_the_script_without_errors(
    runtime_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the tap makes its folder
    threads = relay_threads()
    assert jpf(["check", "--kernel", "python3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # the tap it started is gone with the kernel: its threads, and its folder with the key
    assert relay_threads() == threads
    assert list(tmp_path.iterdir()) == []
    assert report["errors"] == 0, report["problems"]
    assert report["capture"] == "tap"
    steps = {step["step"]: step["answered"] for step in report["steps"]}
    assert list(steps) == list(STEPS)
    assert all(steps.values()), steps
    # every request of the script, and its reply, was seen through the tap
    assert report["messages"] > 50
    assert all(p["severity"] == "warning" for p in report["problems"])


def test_jpf_check_watches_live_traffic(
    start: Callable[..., Kernel], capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = start()
    done = threading.Event()

    def traffic() -> None:
        # execute and read the reply: the blocking channels, no event loop in this thread
        client = kernel.client
        while not done.is_set():
            msg_id = client.execute("print(1)")
            while client.shell_channel.get_msg(timeout=30)["parent_header"].get("msg_id") != msg_id:
                pass

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        code = jpf(["check", kernel.kernel_id, "--duration", "2", "--json"])
    finally:
        done.set()
        worker.join(60)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["capture"] == "tap"
    assert report["messages"] > 0
    assert report["errors"] == 0


def _frames(header: dict[str, Any], content: dict[str, Any]) -> Any:
    return split_frames([DELIMITER, b"", orjson.dumps(header), b"{}", b"{}", orjson.dumps(content)])


def test_a_message_not_yet_checked_is_never_reported_clean() -> None:
    log = MessageLog()
    linter = Linter(log)
    header = {
        "msg_id": "m1",
        "msg_type": "stream",
        "session": "s",
        "username": "u",
        "date": "2026-12-04T15:00:00Z",
        "version": "5.3",
    }
    record = log.add("iopub", _frames(header, {"name": "stdlog", "text": "x"}))
    assert record is not None
    assert linter.problems_of(record.seq) is None  # not checked: not clean either
    assert linter.stats(catch_up=False)["unchecked"] == 1
    assert [p.rule for p in linter.problems()] == ["stream.name.enum"]
    assert [p.rule for p in linter.problems_of(record.seq) or []] == ["stream.name.enum"]
    assert linter.stats()["unchecked"] == 0


def test_evicted_before_checked_is_counted_unchecked() -> None:
    log = MessageLog(budget=4000)
    linter = Linter(log)
    for n in range(40):
        header = {
            "msg_id": f"m{n}",
            "msg_type": "stream",
            "session": "s",
            "username": "u",
            "date": "2026-12-04T15:00:00Z",
            "version": "5.3",
        }
        log.add("iopub", _frames(header, {"name": "stdout", "text": "x"}))
    stats = linter.stats()
    assert stats["unchecked"] > 0
    assert stats["checked"] + stats["unchecked"] == 40


def test_rules_are_data_with_a_severity_a_reason_and_a_link() -> None:
    assert len(RULES) > 100
    for rule in RULES.values():
        assert rule.severity in ("error", "warning")
        assert rule.reason
        assert rule.link.startswith(SPEC_URL + "#")
    # an unknown msg_type is a custom message, never a violation; extra fields are allowed
    header = {
        "msg_id": "m",
        "msg_type": "my_extension",
        "session": "s",
        "username": "u",
        "date": "2026-12-04T15:00:00.5+01:00",
        "version": "5.5",
    }
    assert check(header, {}, {"anything": [1]}, "iopub") == []
    header["msg_type"] = "stream"
    assert check(header, {}, {"name": "stdout", "text": "x", "extra": 1}, "iopub") == []
    # a state jupyter_server sends its websocket clients is a known quirk, another an error
    header["msg_type"] = "status"
    assert [(p.rule, p.severity) for p in check(header, {}, {"execution_state": "dead"})] == [
        ("status.execution_state.quirk", "warning")
    ]
    assert [(p.rule, p.severity) for p in check(header, {}, {"execution_state": "ready"})] == [
        ("status.execution_state.enum", "error")
    ]


def test_the_rules_document_lists_every_rule() -> None:
    text = (ROOT / "docs" / "protocol-rules.md").read_text()
    from jpf_widget.lint.doc import rules_table  # noqa: PLC0415

    assert rules_table() in text, "regenerate: python -m jpf_widget.lint.doc"
    for rule_id in RULES:
        assert f"`{rule_id}`" in text


def test_jpf_check_on_xeus_python_finds_its_death(
    runtime_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """xeus-python exits on SIGINT (its kernelspec has no interrupt_mode), and in some runs,
    after the execution that raised, answers every request with a bare {"status": "error"}
    (and then exits at the input step): the errors found are those, each one the spec's
    (docs/protocol-rules.md, findings)."""
    assert jpf(["check", "--kernel", "xpython", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["by_rule"]["script.kernel_died"] == 1
    errors = {p["rule"] for p in report["problems"] if p["severity"] == "error"}
    assert errors <= {
        "script.kernel_died",
        "execute_reply.execution_count.required",
        "is_complete_reply.status.enum",
    }
    answered = [step["step"] for step in report["steps"] if step["answered"]]
    assert answered[:4] == list(STEPS[:4])  # kernel_info and the three executions
    if len(errors) == 1:  # the usual run: all is clean up to the interrupt
        assert report["by_rule"] == {"script.kernel_died": 1}
        assert answered == list(STEPS[: STEPS.index("input") + 1])


# bash_kernel's kernel.json has a key KernelSpec does not know (codemirror_mode)
@pytest.mark.filterwarnings(
    "ignore:Passing unrecognized arguments to super\\(KernelSpec\\):DeprecationWarning"
)
def test_jpf_check_on_bash_kernel_finds_its_abort_status(
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bash_kernel answers an interrupted execution with status "abort", which is not one of
    the spec's ok / error / aborted: an error, and the only kind."""
    install = pytest.importorskip("bash_kernel.install")
    if "bash" not in KernelSpecManager().find_kernel_specs():
        install.install_my_kernel_spec(user=False, prefix=str(tmp_path))
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    capsys.readouterr()  # what the install printed is not the report
    assert jpf(["check", "--kernel", "bash", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert {p["rule"] for p in errors} == {"execute_reply.status.enum"}
    assert all("'abort'" in p["message"] and p["msg_type"] == "execute_reply" for p in errors)


def test_a_message_is_checked_against_its_header_version() -> None:
    """A 4.1 stream has ``data``, not ``text``, and no date; a field added in 5.5 is not asked of
    a 5.3 kernel_info_reply; a msg_type newer than the header is flagged."""
    old = {"msg_id": "m", "msg_type": "stream", "session": "s", "username": "u", "version": "4.1"}
    assert check(old, {}, {"name": "stdout", "data": "x"}, "iopub") == []
    new = {**old, "version": "5.3", "date": "2026-12-04T15:00:00Z"}
    assert [p.rule for p in check(new, {}, {"name": "stdout", "data": "x"}, "iopub")] == [
        "stream.text.required"
    ]
    assert [p.rule for p in check({**new, "date": None}, {}, {"name": "stdout", "text": ""})] == [
        "header.date.format"
    ]
    reply = {**new, "msg_type": "kernel_info_reply"}
    content = {
        "status": "ok",
        "protocol_version": "5.3",
        "implementation": "k",
        "implementation_version": "1",
        "language_info": {"name": "k"},
        "banner": "",
        "supported_features": "not checked before 5.5",
    }
    parent = {"msg_id": "p", "msg_type": "kernel_info_request"}
    assert check(reply, parent, content, "shell") == []
    assert [p.rule for p in check({**reply, "version": "5.5"}, parent, content, "shell")] == [
        "kernel_info_reply.supported_features.type"
    ]
    welcome = {**new, "msg_type": "iopub_welcome"}
    assert [p.rule for p in check(welcome, {}, {"subscription": ""}, "iopub")] == [
        "header.msg_type.version"
    ]


def test_the_linter_catches_up_in_slices_and_says_what_is_left() -> None:
    """The flusher gives the linter a few milliseconds a tick: it checks a chunk at least, says
    whether it is done, and the rest is counted as unchecked until it is."""
    log = MessageLog()
    header = {
        "msg_type": "stream",
        "session": "s",
        "username": "u",
        "date": "2026-12-04T15:00:00Z",
        "version": "5.3",
    }
    log.add_many(
        "iopub",
        [
            _frames({**header, "msg_id": f"m{n}"}, {"name": "stdout", "text": "x"})
            for n in range(5000)
        ],
    )
    linter = Linter(log)
    assert linter.catch_up(seconds=0) is False
    stats = linter.stats(catch_up=False)
    assert 0 < stats["checked"] < 5000
    assert stats["checked"] + stats["unchecked"] == 5000
    assert linter.problems_of(4999) is None
    assert linter.catch_up() is True
    assert linter.stats(catch_up=False) == {
        "errors": 0,
        "warnings": 0,
        "by_rule": {},
        "checked": 5000,
        "unchecked": 0,
    }
    assert linter.problems_of(4999) == []


def test_the_view_is_sent_each_message_problems() -> None:
    """A Row carries how many rules its message breaks, the Body which ones and why."""
    log = MessageLog()
    header = {
        "msg_id": "m",
        "msg_type": "stream",
        "session": "s",
        "username": "u",
        "date": "2026-12-04T15:00:00",
        "version": "5.3",
    }
    bad = log.add("iopub", _frames(header, {"name": "stdlog", "text": "x"}))
    fixed = {**header, "msg_id": "g", "date": "2026-12-04T15:00:00Z"}
    good = log.add("iopub", _frames(fixed, {"name": "stdout", "text": "x"}))
    assert bad is not None
    assert good is not None
    assert (row(bad)["problems"], row(good)["problems"]) == (2, 0)
    problems = body(bad)["problems"]
    assert [(p["rule"], p["severity"], p["path"]) for p in problems] == [
        ("header.date.timezone", "warning", "header.date"),
        ("stream.name.enum", "error", "content.name"),
    ]
    assert all(p["link"].startswith(SPEC_URL) for p in problems)
    assert body(good)["problems"] == []
