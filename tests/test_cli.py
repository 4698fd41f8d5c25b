"""The ``jpf`` command's trace subcommands: ``record``, ``show``, ``diagram`` and ``tail``.

Real kernels, ``jpf`` run as a process of its own; ``jpf tail`` also in a real terminal (tmux),
whose screen, colours included, is read back with ``capture-pane -e``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from jpf_widget import Monitor
from jpf_widget.messages import Marker
from jpf_widget.trace import RecordedMessage, TraceReader

from .conftest import Kernel, wait_until

pytestmark = pytest.mark.timeout(120)

# time, channel, arrow, client, msg_type, summary
LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (iopub|shell|control|stdin) +[→←] (\S+) +(\S+) *(.*)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def jpf(*args: str) -> list[str]:
    return [sys.executable, "-m", "jpf_widget.cli", *args]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(jpf(*args), capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def recording(kernel: Kernel, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A trace of a real kernel running a print and an error; and the request's msg_id."""
    path = tmp_path_factory.mktemp("cli") / "session.jsonl"
    with Monitor(kernel.kernel_id) as monitor:
        monitor.wait_until_connected(30)
        request = kernel.run("print('hello from the kernel'); 1/0")
        monitor.wait_for(
            lambda m: m.parent_id == request and m.content.get("execution_state") == "idle", 30
        )
        monitor.save(path)
    return path, request


def test_each_subcommand_has_help() -> None:
    for command in ("record", "show", "diagram", "tail"):
        done = run(command, "--help")
        assert done.returncode == 0
        assert f"usage: jpf {command}" in done.stdout
    assert "--duration" in run("record", "--help").stdout
    assert "--thread" in run("diagram", "--help").stdout


def test_show_prints_a_line_per_message(recording: tuple[Path, str]) -> None:
    path, request = recording
    done = run("show", str(path))
    assert done.returncode == 0, done.stderr
    first, *lines = done.stdout.splitlines()
    assert first.startswith("# kernel ")
    assert "(iopub)" in first
    assert not ANSI.search(done.stdout)  # a pipe gets no colours
    assert lines[0].endswith("-- attached: attached to kernel " + first.split()[2])
    parsed = [LINE.match(line) for line in lines[1:]]
    assert all(parsed), [line for line, p in zip(lines[1:], parsed, strict=True) if not p]
    types = [p[3] for p in parsed if p]
    assert "kernel_info_reply" in types
    assert "stdout: hello from the kernel" in done.stdout
    assert "ZeroDivisionError: division by zero" in done.stdout
    assert types.count("status") >= 4
    # as JSON lines: a trace's message records
    as_json = run("show", str(path), "--json")
    records = [orjson.loads(line) for line in as_json.stdout.splitlines()]
    messages = [r for r in records if r["type"] == "message"]
    assert [r["header"]["msg_type"] for r in messages] == types
    assert any(r["parent_header"].get("msg_id") == request for r in messages)
    assert records[0]["type"] == "marker"


def test_show_in_colour_when_asked(recording: tuple[Path, str]) -> None:
    done = run("show", str(recording[0]), "--color", "always")
    assert "\x1b[36miopub  \x1b[0m" in done.stdout
    assert "\x1b[1;31merror" in done.stdout


def test_show_where_keeps_the_messages_the_query_matches(recording: tuple[Path, str]) -> None:
    path, request = recording
    done = run("show", str(path), "--where", "msg_type:stream OR content.ename:ZeroDivision*")
    assert done.returncode == 0, done.stderr
    _, attached, *lines = done.stdout.splitlines()
    assert "-- attached: " in attached  # markers are shown whatever the query
    assert [m[3] for m in map(LINE.match, lines) if m] == ["stream", "error"]
    assert len(lines) == 2
    # a path into the parent header, and a negation
    as_json = run(
        "show", str(path), "--json", "--where", f"parent_header.msg_id:{request} -msg_type:status"
    )
    messages = [r for r in map(orjson.loads, as_json.stdout.splitlines()) if r["type"] == "message"]
    assert {r["header"]["msg_type"] for r in messages} == {"execute_input", "stream", "error"}
    assert all(r["parent_header"]["msg_id"] == request for r in messages)


def test_a_malformed_where_is_a_usage_error(recording: tuple[Path, str], tmp_path: Path) -> None:
    done = run("show", str(recording[0]), "--where", "msg_type:stream -content:x")
    assert done.returncode == 2
    assert "argument --where: column 18: content is an object: name a key in it, as " in (
        done.stderr
    )
    assert "\n  msg_type:stream -content:x\n                   ^\n" in done.stderr
    assert done.stdout == ""
    for command in (["tail", "no-such-kernel"], ["record", "no-such-kernel", "-o", "x.jsonl"]):
        bad = run(*command, "--where", 'content.code:"import os')
        assert bad.returncode == 2  # before any kernel is looked for
        assert "unclosed quote" in bad.stderr
    assert "--where QUERY" in run("tail", "--help").stdout


def test_tail_and_record_keep_what_where_matches(kernel: Kernel, tmp_path: Path) -> None:
    path = tmp_path / "streams.jsonl"
    record = subprocess.Popen(
        jpf(
            "record",
            kernel.kernel_id,
            "-o",
            str(path),
            "--count",
            "2",
            "--where",
            "content.name:stdout",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tail = subprocess.Popen(
        jpf("tail", kernel.kernel_id, "--json", "--count", "2", "--where", "msg_type:stream"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for process in (record, tail):
        assert process.stderr is not None
        assert process.stderr.readline().startswith(("recording kernel", "attached to kernel"))
    requests = [kernel.run("print('one')"), kernel.run("1 + 1"), kernel.run("print('two')")]
    out, err = tail.communicate(timeout=60)
    assert tail.returncode == 0, err
    messages = [r for r in map(orjson.loads, out.splitlines()) if r["type"] == "message"]
    assert [m["header"]["msg_type"] for m in messages] == ["stream", "stream"]
    assert [m["parent_header"]["msg_id"] for m in messages] == requests[::2]
    out, err = record.communicate(timeout=60)
    assert record.returncode == 0, err
    assert out.startswith("recorded 2 messages")
    with TraceReader(path) as reader:
        kept = [i for i in reader if isinstance(i, RecordedMessage)]
    assert [orjson.loads(i.frames.content_bytes)["text"] for i in kept] == ["one\n", "two\n"]


def test_diagram_of_a_file_and_of_a_thread(recording: tuple[Path, str], tmp_path: Path) -> None:
    path, request = recording
    whole = run("diagram", str(path))
    assert whole.returncode == 0, whole.stderr
    # the shell reply seen is the monitor's own probe's
    assert whole.stdout.startswith("sequenceDiagram\n    participant M as this monitor\n")
    assert "    K-->>M: kernel_info_reply " in whole.stdout
    assert "    K-)IO: stream stdout: hello from the kernel" in whole.stdout
    out = tmp_path / "thread.mmd"
    thread = run("diagram", str(path), "--thread", request, "-o", str(out))
    assert thread.returncode == 0, thread.stderr
    text = out.read_text()
    assert text.startswith("sequenceDiagram\n")
    assert "    C0->>K: execute_request (not captured)" in text
    assert "    K-)IO: error ZeroDivisionError: division by zero" in text
    assert "kernel_info_reply" not in text  # not of this thread
    cut = run("diagram", str(path), "--limit", "3").stdout
    assert re.search(r"Note over K: … \d+ more messages not shown \(limit 3\)\n$", cut)


def test_clear_errors_and_exit_codes(recording: tuple[Path, str], tmp_path: Path) -> None:
    missing = run("show", str(tmp_path / "nothing.jsonl"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("jpf: ")
    assert "No such file" in missing.stderr
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    assert "not a jpf trace" in run("diagram", str(notes)).stderr
    no_thread = run("diagram", str(recording[0]), "--thread", "nope")
    assert no_thread.returncode == 1
    assert "no message of thread nope" in no_thread.stderr
    no_kernel = run("tail", "no-such-kernel", "--count", "1")
    assert no_kernel.returncode == 1
    assert "no kernel matches 'no-such-kernel'" in no_kernel.stderr
    no_record = run("record", "no-such-kernel", "-o", str(tmp_path / "x.jsonl"))
    assert no_record.returncode == 1
    assert not (tmp_path / "x.jsonl").exists()
    bad_count = run("tail", "x", "--count", "0")
    assert bad_count.returncode == 2
    assert "must be at least 1" in bad_count.stderr


def test_damaged_lines_are_reported_not_fatal(recording: tuple[Path, str], tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(recording[0].read_bytes() + b'garbage\n{"type": "message"}\n')
    done = run("show", str(damaged))
    assert done.returncode == 0
    assert "jpf: 2 malformed lines of" in done.stderr


def test_record_stops_at_a_count_and_at_a_duration(kernel: Kernel, tmp_path: Path) -> None:
    counted = tmp_path / "counted.jsonl.gz"
    recorder = subprocess.Popen(
        jpf("record", kernel.kernel_id[:8], "-o", str(counted), "--count", "5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert recorder.stderr is not None
    assert recorder.stderr.readline().startswith("recording kernel")
    for _ in range(3):
        kernel.run("print('x')")
    out, err = recorder.communicate(timeout=60)
    assert recorder.returncode == 0, err
    assert out.startswith("recorded 5 messages")
    with TraceReader(counted) as reader:
        items = list(reader)
        assert isinstance(items[0], Marker)
        assert items[0].kind == "attached"
        assert len([i for i in items if isinstance(i, RecordedMessage)]) == 5
        assert reader.end is not None
        assert reader.end["lost"] == 0
        assert reader.malformed == 0
    timed = tmp_path / "timed.jsonl"
    done = subprocess.run(
        jpf("record", kernel.kernel_id, "-o", str(timed), "--duration", "0.5"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert re.match(r"recorded \d+ messages", done.stdout)
    with TraceReader(timed) as reader:
        assert reader.header["kernel_id"] == kernel.kernel_id


def test_tail_as_json_lines_exits_after_count(kernel: Kernel) -> None:
    tail = subprocess.Popen(
        jpf("tail", kernel.kernel_id, "--json", "--count", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert tail.stderr is not None
    assert tail.stderr.readline().startswith("attached to kernel")
    request = kernel.run("print('one'); print('two')")
    out, err = tail.communicate(timeout=60)
    assert tail.returncode == 0, err
    records = [orjson.loads(line) for line in out.splitlines()]
    messages = [r for r in records if r["type"] == "message"]
    assert len(messages) == 4
    assert [m["header"]["msg_type"] for m in messages[:3]] == ["status", "execute_input", "stream"]
    assert all(m["parent_header"]["msg_id"] == request for m in messages)


# -- in a real terminal ------------------------------------------------------------------------


@pytest.fixture
def tmux() -> Iterator[list[str]]:
    """A tmux server of the test's own (its socket name); killed afterwards."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: `make tmux` installs it")
    command = ["tmux", "-L", f"jpf-test-{uuid.uuid4().hex[:8]}", "-f", "/dev/null"]
    yield command
    subprocess.run([*command, "kill-server"], capture_output=True, check=False)


def test_tail_in_a_terminal_is_coloured_and_exits_after_count(
    kernel: Kernel, tmux: list[str]
) -> None:
    shell_command = " ".join(
        [
            f"JUPYTER_RUNTIME_DIR={os.environ['JUPYTER_RUNTIME_DIR']}",
            "TERM=xterm-256color",
            *jpf("tail", kernel.kernel_id, "--count", "5"),
        ]
    )
    # the pane's shell says how jpf ended, then waits to be killed with the session
    shell_command += '; echo "jpf exited $?"; exec cat'

    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "tail", "-x", "160", "-y", "40", shell_command],
        check=True,
    )

    def screen() -> str:
        return subprocess.run(
            [*tmux, "capture-pane", "-p", "-e", "-t", "tail"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    wait_until(lambda: "attached to kernel" in screen(), 30, "jpf tail to attach")
    kernel.run("print('in a terminal')\n1/0")
    wait_until(lambda: "jpf exited" in screen(), 30, "jpf tail to exit after 5 messages")
    text = screen()
    assert "jpf exited 0" in ANSI.sub("", text)
    plain = ANSI.sub("", text)
    lines = [line for line in plain.splitlines() if LINE.match(line)]
    assert [LINE.match(line)[3] for line in lines] == [  # type: ignore[index]
        "status",
        "execute_input",
        "stream",
        "error",
        "status",
    ], plain
    assert "\x1b[36miopub" in text  # the channel's colour, as the terminal shows it
    assert "\x1b[1m\x1b[31merror" in text or "\x1b[1;31merror" in text
    assert "stdout: in a terminal" in plain
