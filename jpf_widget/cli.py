"""The ``jpf`` command.

::

    jpf list                                   the kernels one can attach to
    jpf tap install [--name python3] [--user | --sys-prefix | --prefix DIR]
    jpf tap uninstall [--name python3] [--user | --sys-prefix | --prefix DIR]
    jpf tap status KERNEL                      the tap's health and counts for a kernel
    jpf record TARGET -o FILE [--duration S] [--count N] [--where QUERY]
                                               record a kernel's messages
    jpf show FILE [--json] [--where QUERY]     print a recording, a line per message
    jpf diagram FILE [-o OUT.mmd] [--thread ID]            a Mermaid sequence diagram of it
    jpf tail TARGET [--json] [--count N] [--where QUERY]
                                               a kernel's messages, live, a line per message
    jpf check FILE | TARGET [--duration S] | --kernel NAME [--json]
                                               lint against the messaging spec (exit 1: errors)

A TARGET is what ``Monitor(...)`` takes: a kernel id, a unique id prefix, a connection file, a
notebook's path or name; with ``--server URL [--token T]``, a kernel of that Jupyter server.

Each subcommand is a function ``(args) -> exit status`` set as the subparser's ``run`` default;
a new one adds a subparser in :func:`build_parser` (or a group of them, as ``tap`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import IO

from .backends import Backend, open_backend
from .diagram import DIAGRAM_LIMIT, sequence_diagram, thread_diagram
from .errors import TargetError
from .kernels import list_kernels, resolve_target
from .log import MessageLog, entry_of
from .messages import TO_KERNEL, Marker, Message, make_message
from .query import Query, QueryError, compile_query
from .recording import Recording, follow
from .tap import tap_info, tap_status
from .tap.kernelspec import install, uninstall
from .trace import RecordedMessage, TraceReader, marker_line, message_line

__all__ = ["build_parser", "main"]


def _list(args: argparse.Namespace) -> int:
    kernels = list_kernels(servers=not args.no_servers)
    if args.json:
        print(json.dumps([vars(k) for k in kernels], indent=1))
        return 0
    if not kernels:
        print("no kernels running")
        return 0
    for kernel in kernels:
        tapped = " (tapped)" if kernel.connection_file and tap_info(kernel.connection_file) else ""
        where = kernel.notebook or kernel.connection_file
        state = f" {kernel.execution_state}" if kernel.execution_state else ""
        print(f"{kernel.kernel_id}  {kernel.kernel_name}{tapped}{state}  {where}")
    return 0


def _location(args: argparse.Namespace) -> dict[str, object]:
    if args.prefix is not None:
        return {"prefix": args.prefix}
    if args.sys_prefix:
        return {"prefix": sys.prefix}
    return {"user": True}


def _tap_install(args: argparse.Namespace) -> int:
    folder = install(args.name, **_location(args))  # type: ignore[arg-type]
    print(f"installed kernelspec {folder.name} in {folder}")
    return 0


def _tap_uninstall(args: argparse.Namespace) -> int:
    folder = uninstall(args.name, **_location(args))  # type: ignore[arg-type]
    print(f"removed kernelspec {folder.name} from {folder.parent}")
    return 0


def _tap_status(args: argparse.Namespace) -> int:
    target = resolve_target(args.kernel)
    tap = tap_info(target.connection_file)
    if tap is None:
        print(f"kernel {target.kernel_id} is not tapped (jpf tap install, then start it tapped)")
        return 1
    status = tap_status(tap)
    print(json.dumps({"url": tap.url, **status}, indent=1))
    return 0 if status.get("health") == "ok" else 1


# -- recording, showing and following messages -----------------------------------------------

# What jpf record and jpf tail keep in memory while the file or the terminal catches up
_BUDGET = 256 * 1024 * 1024
_CONNECT_TIMEOUT = 30.0
_KERNEL_INFO_WAIT = 5.0  # how long jpf record waits for kernel_info before writing its header


def _predicate(args: argparse.Namespace) -> Callable[[Message], bool] | None:
    """The messages that ``show``, ``tail`` and ``record`` keep (None: all of them): those
    that match ``--where``."""
    where: Query | None = args.where
    return where


def _query(text: str) -> Query | None:
    """``--where``'s argument type: the parsed query (None when empty); a malformed one is a
    usage error (exit status 2) that points at the place."""
    try:
        query = compile_query(text)
    except QueryError as exc:
        raise argparse.ArgumentTypeError(f"{exc}\n  {text}\n  {' ' * exc.position}^") from None
    return query if text.strip() else None


def _add_where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--where",
        type=_query,
        metavar="QUERY",
        help="only the messages that match QUERY: free text and field:value terms, ANDed; "
        "-term negates, OR between groups, * is a wildcard, e.g. "
        "'channel:shell -msg_type:status' or 'content.data.method:update'",
    )


class _Stop:
    """Set by Ctrl-C (SIGINT) or SIGTERM while installed: loops end at their next look."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _Stop:
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, frame: FrameType | None) -> None:
        self.event.set()

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]  # what signal() returned


def _attach(args: argparse.Namespace, log: MessageLog, stop: _Stop) -> Backend:
    """The started back end for ``args.target``, once connected (raises why not)."""
    return attach(args.target, log, stop.event, server=args.server, token=args.token)


def attach(
    target: str,
    log: MessageLog,
    stop: threading.Event,
    *,
    server: str | None = None,
    token: str | None = None,
) -> Backend:
    """The started back end for ``target``, once connected: RuntimeError saying why it did not
    connect, KeyboardInterrupt when ``stop`` is set first."""
    backend = open_backend(target, log, server=server, token=token)
    backend.start()
    deadline = time.monotonic() + _CONNECT_TIMEOUT
    while backend.state != "connected":
        if backend.state in ("dead", "closed") or time.monotonic() > deadline:
            state, detail = backend.state, backend.detail
            backend.close()
            raise RuntimeError(f"could not attach to {target}: {state}. {detail}".strip())
        if stop.wait(0.05):
            backend.close()
            raise KeyboardInterrupt
    return backend


def _record(args: argparse.Namespace) -> int:
    log = MessageLog(_BUDGET)
    started = time.time()
    with _Stop() as stop:
        try:
            backend = _attach(args, log, stop)
        except KeyboardInterrupt:
            return 130
        try:
            if backend.kernel_info is None:
                log.wait_for(lambda m: m.msg_type == "kernel_info_reply", _KERNEL_INFO_WAIT, -1)

            def final_counts() -> dict[str, object]:
                return log.stats() | {
                    "restarts": backend.restarts,
                    "loss_detection": backend.loss.text,
                }

            recording = Recording(
                log,
                args.output,
                kernel_id=backend.kernel_id,
                kernel_info=backend.kernel_info,
                connection=backend.connection(),
                capture=backend.capture,
                own_requests=lambda: backend.own_requests,
                keep=_predicate(args),
                count=args.count,
                duration=args.duration,
                stats=final_counts,
                started=started,
                # first in the file, though messages came in while attaching
                first=Marker(-1, started, "attached", f"attached to kernel {backend.kernel_id}"),
                stop=stop.event,  # Ctrl-C: the recording, run here, ends at its next look
            )
        except BaseException:
            backend.close()
            raise
        print(
            f"recording kernel {backend.kernel_id} ({backend.capture}) to {args.output}: "
            "Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        try:
            recording.run()
        finally:
            backend.close()
    stats = log.stats()
    print(
        f"recorded {recording.written} messages ({recording.wire_bytes:,} bytes on the wire) to "
        f"{args.output}; lost {stats['lost']} ({backend.loss.text}), not written in "
        f"time {recording.not_written}, malformed {stats['malformed']}, bad signatures "
        f"{stats['bad_signature']}"
    )
    return 0


# ANSI styles: a channel's colour, and a msg_type's emphasis
_RESET = "\x1b[0m"
_CHANNEL_STYLE = {
    "shell": "\x1b[34m",
    "iopub": "\x1b[36m",
    "control": "\x1b[35m",
    "stdin": "\x1b[33m",
}
_TYPE_STYLE = {
    "error": "\x1b[1;31m",
    "stream": "\x1b[32m",
    "status": "\x1b[2m",
    "execute_request": "\x1b[1m",
    "execute_reply": "\x1b[1m",
}
_MARKER_STYLE = "\x1b[1;33m"


class _Lines:
    """One line of text per message or marker, coloured or not."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def _paint(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.colour and style else text

    def message(self, message: Message) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(message.received))
        millis = int(message.received * 1000) % 1000
        arrow = "→" if message.direction == TO_KERNEL else "←"
        client = message.client or "-"
        try:
            summary = message.summary
        except Exception:  # a body its typed view cannot read
            summary = ""
        return " ".join(
            (
                f"{when}.{millis:03d}",
                self._paint(_CHANNEL_STYLE.get(message.channel, ""), f"{message.channel:<7}"),
                arrow,
                f"{client:<6}",
                self._paint(_TYPE_STYLE.get(message.msg_type, ""), f"{message.msg_type:<20}"),
                summary,
            )
        ).rstrip()

    def marker(self, marker: Marker) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(marker.received))
        return self._paint(_MARKER_STYLE, f"{when} -- {marker.kind}: {marker.text}")


def _colour(args: argparse.Namespace, out: IO[str]) -> bool:
    if args.color == "always":
        return True
    if args.color == "never" or os.environ.get("NO_COLOR"):
        return False
    return out.isatty()


def _json_line(message: Message) -> str:
    return message_line(message._record, seq=False).decode().rstrip("\n")


def _marker_json(marker: Marker) -> str:
    return marker_line(marker).decode().rstrip("\n")


def _tail(args: argparse.Namespace) -> int:
    keep = _predicate(args)
    lines = _Lines(_colour(args, sys.stdout))
    log = MessageLog(_BUDGET)
    shown = 0
    with _Stop() as stop:
        try:
            backend = _attach(args, log, stop)
        except KeyboardInterrupt:
            return 130
        print(
            f"attached to kernel {backend.kernel_id} ({backend.capture}): Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        try:
            for held, evicted in follow(log, stop.event):
                out = []
                if evicted:
                    out.append(lines.marker(Marker(-1, time.time(), "loss", f"{evicted} skipped")))
                for entry in map(entry_of, held):
                    if isinstance(entry, Marker):
                        out.append(_marker_json(entry) if args.json else lines.marker(entry))
                        continue
                    own = backend.own_requests
                    if not args.own and (entry.msg_id in own or entry.parent_id in own):
                        continue
                    if keep is not None and not keep(entry):
                        continue
                    out.append(_json_line(entry) if args.json else lines.message(entry))
                    shown += 1
                    if args.count is not None and shown >= args.count:
                        stop.event.set()
                        break
                if out:
                    sys.stdout.write("\n".join(out) + "\n")
                    sys.stdout.flush()
                if args.count is not None and shown >= args.count:
                    break
        except BrokenPipeError:  # the reader (head, less) went away
            _quiet_stdout()
        finally:
            backend.close()
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: its reader went away, and flushing it at exit must not
    print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _messages(reader: TraceReader, own: set[str] | None = None) -> Iterator[Message | Marker]:
    """A trace's messages (as Messages, numbered in the file's order) and markers; the
    requests recorded as the recording monitor's own are added to ``own``."""
    seq = 0
    for item in reader:
        if type(item) is RecordedMessage:
            message = make_message(item.record(seq))
            if item.own and own is not None:
                own.add(message.parent_id or message.msg_id)
            yield message
            seq += 1
        elif isinstance(item, Marker):
            yield item


def _say_malformed(reader: TraceReader) -> None:
    if reader.malformed:
        print(f"jpf: {reader.malformed} malformed lines of {reader.path} skipped", file=sys.stderr)


def _show(args: argparse.Namespace) -> int:
    keep = _predicate(args)
    lines = _Lines(_colour(args, sys.stdout))
    with TraceReader(args.file) as reader:
        header = reader.header
        if not args.json:
            print(
                f"# kernel {header.get('kernel_id') or '?'} ({header.get('capture') or '?'}), "
                f"recorded {header.get('started') or '?'} by {header.get('tool') or '?'}"
            )
        out: list[str] = []
        try:
            for entry in _messages(reader):
                if isinstance(entry, Marker):
                    out.append(_marker_json(entry) if args.json else lines.marker(entry))
                elif keep is None or keep(entry):
                    out.append(_json_line(entry) if args.json else lines.message(entry))
                if len(out) >= 1000:
                    sys.stdout.write("\n".join(out) + "\n")
                    out.clear()
            if out:
                sys.stdout.write("\n".join(out) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
            return 0
    _say_malformed(reader)
    return 0


def _diagram(args: argparse.Namespace) -> int:
    with TraceReader(args.file) as reader:
        if args.thread:
            text = _thread_of(reader, args.thread, args.limit)
        else:
            own: set[str] = set()
            text = sequence_diagram(_messages(reader, own), limit=args.limit, own=own)
    _say_malformed(reader)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _thread_of(reader: TraceReader, msg_id: str, limit: int) -> str:
    request: Message | None = None
    replies: list[Message] = []
    total = 0
    own: set[str] = set()
    for entry in _messages(reader, own):
        if isinstance(entry, Marker):
            continue
        if entry.msg_id == msg_id:
            request = entry
        elif entry.parent_id == msg_id:
            total += 1
            if len(replies) < limit:
                replies.append(entry)
    if request is None and not replies:
        raise LookupError(f"no message of thread {msg_id} in {reader.path}")
    return thread_diagram(msg_id, request, replies, limit=limit, total=total, own=own)


def _check(args: argparse.Namespace) -> int:
    from .lint.conformance import (  # noqa: PLC0415 (jpf check only)
        check_kernel,
        lint_entries,
        lint_window,
    )

    if args.kernel:
        report = check_kernel(args.kernel)
    elif args.target is None:
        raise ValueError("jpf check needs a recording, a kernel to watch, or --kernel NAME")
    elif args.target.endswith((".jsonl", ".jsonl.gz")):
        with TraceReader(args.target) as reader:
            capture = str(reader.header.get("capture") or "iopub")
            report = lint_entries(_messages(reader), args.target, capture)
        _say_malformed(reader)
    else:
        log = MessageLog(_BUDGET)
        with _Stop() as stop:
            try:
                backend = _attach(args, log, stop)
            except KeyboardInterrupt:
                return 130
            try:
                deadline = time.monotonic() + args.duration
                entries: list[Message | Marker] = []
                for held, _evicted in follow(log, stop.event, deadline):
                    entries.extend(map(entry_of, held))
                report = lint_window(log, entries, f"kernel {backend.kernel_id}", backend.capture)
            finally:
                backend.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print(report.text())
    return 1 if report.errors else 0


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", help="kernel id, unique id prefix, connection file, or notebook path or name"
    )
    parser.add_argument("--server", metavar="URL", help="through this Jupyter server")
    parser.add_argument("--token", metavar="T", help="the server's token (default: $JUPYTER_TOKEN)")


def _add_colour(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the lines (auto: when writing to a terminal and $NO_COLOR is unset)",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _add_trace_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = commands.add_parser(
        "record",
        help="record a kernel's messages to a trace file",
        description="Record a kernel's messages to a trace file (JSON Lines; .gz compresses) "
        "until Ctrl-C, --duration or --count, then print what was captured and lost.",
    )
    _add_target(record)
    record.add_argument("-o", "--output", required=True, metavar="FILE", help="the trace file")
    record.add_argument("--duration", type=_seconds, metavar="S", help="stop after S seconds")
    record.add_argument("--count", type=_positive, metavar="N", help="stop after N messages")
    _add_where(record)
    record.set_defaults(run=_record)

    show = commands.add_parser(
        "show",
        help="print a trace file, a line per message",
        description="Print a trace file: a line per message (time, channel, direction, "
        "client, msg_type, summary) and per marker.",
    )
    show.add_argument("file", help="a trace file (.jsonl or .jsonl.gz)")
    show.add_argument("--json", action="store_true", help="JSON lines, one per message")
    _add_where(show)
    _add_colour(show)
    show.set_defaults(run=_show)

    diagram = commands.add_parser(
        "diagram",
        help="a Mermaid sequence diagram of a trace file",
        description="Write a Mermaid sequenceDiagram of a trace file's messages, or of one "
        "request's thread.",
    )
    diagram.add_argument("file", help="a trace file (.jsonl or .jsonl.gz)")
    diagram.add_argument("-o", "--output", metavar="OUT.mmd", help="write here, not to stdout")
    diagram.add_argument("--thread", metavar="ID", help="the thread of the request ID only")
    diagram.add_argument(
        "--limit",
        type=_positive,
        default=DIAGRAM_LIMIT,
        metavar="N",
        help=f"at most N arrows (default {DIAGRAM_LIMIT})",
    )
    diagram.set_defaults(run=_diagram)

    tail = commands.add_parser(
        "tail",
        help="follow a kernel's messages live, a line per message",
        description="Follow a kernel's messages live: a coloured line per message on a "
        "terminal, or JSON lines (--json) for a pipe. Ctrl-C stops.",
    )
    _add_target(tail)
    tail.add_argument("--json", action="store_true", help="JSON lines, one per message")
    tail.add_argument("--count", type=_positive, metavar="N", help="exit after N messages")
    _add_where(tail)
    tail.add_argument(
        "--own", action="store_true", help="also show the monitor's own kernel_info probes"
    )
    _add_colour(tail)
    tail.set_defaults(run=_tail)


def _add_location(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--user", action="store_true", help="the user's Jupyter data dir (the default)"
    )
    where.add_argument(
        "--sys-prefix", action="store_true", help="this Python environment (sys.prefix)"
    )
    where.add_argument("--prefix", metavar="DIR", help="DIR/share/jupyter/kernels")


def build_parser() -> argparse.ArgumentParser:
    """The ``jpf`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="jpf", description="Jupyter kernel message monitor.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the kernels one can attach to")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.add_argument(
        "--no-servers", action="store_true", help="connection files only, no Jupyter servers"
    )
    listing.set_defaults(run=_list)

    tap = commands.add_parser("tap", help="a relay in front of kernels that captures all traffic")
    tap_commands = tap.add_subparsers(dest="tap_command", metavar="TAP_COMMAND", required=True)
    install = tap_commands.add_parser(
        "install", help="write the kernelspec NAME-tap, which starts NAME behind the tap"
    )
    install.add_argument("--name", default="python3", help="the kernelspec to tap (python3)")
    _add_location(install)
    install.set_defaults(run=_tap_install)
    uninstall = tap_commands.add_parser("uninstall", help="remove the kernelspec NAME-tap")
    uninstall.add_argument("--name", default="python3", help="the tapped kernelspec's base name")
    _add_location(uninstall)
    uninstall.set_defaults(run=_tap_uninstall)
    status = tap_commands.add_parser("status", help="a tapped kernel's tap: health and counts")
    status.add_argument("kernel", help="kernel id, id prefix or connection file")
    status.set_defaults(run=_tap_status)
    _add_trace_commands(commands)
    check = commands.add_parser(
        "check",
        help="lint a recording, a kernel's live traffic, or a kernel driven through a script",
        description="Check messages against the Jupyter messaging spec's rules "
        "(docs/protocol-rules.md). Exit status 1 when an error is found.",
    )
    check.add_argument(
        "target",
        nargs="?",
        help="a recording (.jsonl, .jsonl.gz), or a kernel id, id prefix, connection file or "
        "notebook to watch live",
    )
    check.add_argument("--server", metavar="URL", help="watch a kernel of this Jupyter server")
    check.add_argument("--token", metavar="T", help="the server's token (default: $JUPYTER_TOKEN)")
    check.add_argument(
        "--duration", type=_seconds, default=10.0, metavar="S", help="watch live for S seconds"
    )
    check.add_argument(
        "--kernel",
        metavar="NAME",
        help="start kernelspec NAME behind the tap, drive it through the standard script, and "
        "shut it down",
    )
    check.add_argument("--json", action="store_true", help="the report as JSON")
    check.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``jpf``; errors the user can fix are one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (
        TargetError,
        RuntimeError,
        ConnectionError,
        OSError,
        LookupError,
        ValueError,
    ) as exc:
        print(f"jpf: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
