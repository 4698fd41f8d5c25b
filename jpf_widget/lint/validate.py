"""Checks one message against the spec's rules (:mod:`jpf_widget.lint.spec`): its header, its
parent_header when it is a reply, its content, and the channel it came on.

:func:`check` takes the parsed frames and gives a list of :class:`Problem`; an empty list is a
clean message. The protocol version a message is checked against is its header's ``version``,
or, when that is missing or not a version, the one given (the version the kernel announced in
its kernel_info_reply; the newest the rules know without one). Checking costs a few
microseconds a message (``python -m benchmarks lint``); it runs off capture's path
(:mod:`jpf_widget.lint.linter`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from .spec import (
    BY_TYPE,
    ERROR_FIELDS,
    LATEST,
    RENAMED,
    REPLY_STATUS,
    RULES,
    Field,
    MessageSpec,
    Severity,
    parse_version,
)

__all__ = ["Problem", "check", "problem"]


class Problem(NamedTuple):
    """One broken rule.

    ``path`` is where in the message (``content.execution_count``, ``header.date``; ``""`` for
    a rule across messages), ``seq`` and ``msg_id`` the message's (-1 and ``""`` when a problem
    is tied to none, as a request never answered is tied to the request).
    """

    rule: str
    severity: Severity
    message: str
    path: str = ""
    seq: int = -1
    msg_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "link": RULES[self.rule].link}


def problem(rule: str, message: str, path: str = "", seq: int = -1, msg_id: str = "") -> Problem:
    """The problem of breaking ``rule`` (its severity is the rule's)."""
    return Problem(rule, RULES[rule].severity, message, path, seq, msg_id)


# ISO 8601 date and time, as clients parse it: the offset (or Z) is the time zone
_DATE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(?P<tz>Z|z|[+-]\d{2}(:?\d{2})?)?"
)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int to Python, not to the spec


def _is_list_of(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, list) and all(test(item) for item in value)


def _is_links(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(link, dict) and _is_str(link.get("text")) and _is_str(link.get("url"))
        for link in value
    )


def _is_comms(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(comm, dict) and _is_str(comm.get("target_name")) for comm in value.values()
    )


def _is_history(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(entry, list | tuple) and len(entry) == 3 for entry in value
    )


_KINDS: Final[dict[str, Callable[[object], bool]]] = {
    "str": _is_str,
    "int": _is_int,
    "bool": lambda value: isinstance(value, bool),
    "dict": lambda value: isinstance(value, dict),
    "list[str]": _is_list_of(_is_str),
    "list[dict]": _is_list_of(lambda item: isinstance(item, dict)),
    "str|dict": lambda value: isinstance(value, str | dict),
    "help_links": _is_links,
    "comms": _is_comms,
    "history": _is_history,
}

_MISSING = object()


def _get(content: dict[str, Any], path: tuple[str, ...]) -> object:
    """The value at ``path``; _MISSING when it, or a dict on the way, is not there."""
    value: object = content
    for key in path:
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(key, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


class _Compiled(NamedTuple):
    """A field made ready to check: its path split, its kind's test, its rules' ids."""

    path: tuple[str, ...]
    where: str
    field: Field
    test: Callable[[object], bool]
    required: str
    type: str
    enum: str
    quirk: str
    parent: tuple[str, ...]  # a field inside a dict is checked only when that dict is there


def _compile(msg_type: str, field: Field) -> _Compiled:
    base = f"{msg_type}.{field.path}"
    path = tuple(field.path.split("."))
    return _Compiled(
        path,
        f"content.{field.path}",
        field,
        _KINDS[field.kind],
        f"{base}.required",
        f"{base}.type",
        f"{base}.enum",
        f"{base}.quirk",
        path[:-1],
    )


_FIELDS: Final = {
    spec.msg_type: tuple(_compile(spec.msg_type, field) for field in spec.fields)
    for spec in BY_TYPE.values()
}
_ERROR_FIELDS: Final = {
    spec.msg_type: tuple(_compile(spec.msg_type, field) for field in ERROR_FIELDS)
    for spec in BY_TYPE.values()
    if spec.reply
}


def check(
    header: dict[str, Any],
    parent_header: dict[str, Any],
    content: dict[str, Any],
    channel: str = "",
    version: tuple[int, int] | None = None,
) -> list[Problem]:
    """The problems of one message (frames parsed; ``channel`` "" when not known).

    A frame that was not a JSON object reaches here as the message reader keeps it
    (``{"_jpf_unparsed": …}`` or ``{"_jpf_value": …}``, see :mod:`jpf_widget.messages`).
    """
    found: list[Problem] = []
    add = found.append
    message_version = parse_version(header.get("version"))
    at = message_version or version or LATEST
    msg_type = header.get("msg_type")
    _check_header(header, at, add)
    broken = False
    for name, frame in (("header", header), ("parent_header", parent_header), ("content", content)):
        if "_jpf_unparsed" in frame or "_jpf_value" in frame:
            add(problem("frame.json", f"{name} is not a JSON object", name))
            broken = True
    if broken or not isinstance(msg_type, str):
        return found  # its fields cannot be read as the spec's
    spec = BY_TYPE.get(msg_type)
    if spec is None:
        if msg_type in RENAMED and at >= (5, 0):
            add(
                problem(
                    "header.msg_type.renamed",
                    f"{msg_type} was renamed {RENAMED[msg_type]} in protocol 5.0",
                    "header.msg_type",
                )
            )
        return found  # a custom message: not the spec's to check
    if spec.since > at:
        add(
            problem(
                "header.msg_type.version",
                f"{msg_type} was added in protocol {spec.since[0]}.{spec.since[1]}, "
                f"the header says {at[0]}.{at[1]}",
                "header.msg_type",
            )
        )
    if channel:
        _check_channel(spec, channel, add)
    if msg_type.endswith("_reply"):
        _check_parent(msg_type, parent_header, add)
    status = _check_status(spec, content, add) if spec.reply else "ok"
    for field in _FIELDS[msg_type]:
        if field.field.when and field.field.when != status:
            continue
        _check_field(field, content, at, add)
    _check_special(msg_type, content, status, at, add)
    return found


def _check_header(
    header: dict[str, Any], at: tuple[int, int], add: Callable[[Problem], None]
) -> None:
    msg_id = header.get("msg_id", _MISSING)
    if msg_id is _MISSING:
        add(problem("header.msg_id.required", "the header has no msg_id", "header.msg_id"))
    elif not isinstance(msg_id, str):
        add(problem("header.msg_id.type", f"msg_id is {_kind(msg_id)}", "header.msg_id"))
    msg_type = header.get("msg_type")
    if not isinstance(msg_type, str):
        add(problem("header.msg_type.type", f"msg_type is {_kind(msg_type)}", "header.msg_type"))
    for name in ("session", "username"):
        value = header.get(name, _MISSING)
        if value is _MISSING:
            add(problem(f"header.{name}.required", f"the header has no {name}", f"header.{name}"))
        elif not isinstance(value, str):
            add(problem(f"header.{name}.type", f"{name} is {_kind(value)}", f"header.{name}"))
    version = header.get("version", _MISSING)
    if version is _MISSING:
        add(problem("header.version.required", "the header has no version", "header.version"))
    elif parse_version(version) is None:
        add(
            problem(
                "header.version.format",
                f"version is {version!r}, not 'X.Y'",
                "header.version",
            )
        )
    date = header.get("date", _MISSING)
    if date is _MISSING:
        if at >= (5, 1):
            add(problem("header.date.required", "the header has no date", "header.date"))
    elif not isinstance(date, str) or (match := _DATE.fullmatch(date)) is None:
        add(
            problem(
                "header.date.format",
                f"date {_short(date)} is not an ISO 8601 timestamp",
                "header.date",
            )
        )
    elif match["tz"] is None:
        add(
            problem(
                "header.date.timezone",
                f"date {date!r} has no time zone (Z or +HH:MM)",
                "header.date",
            )
        )
    subshell = header.get("subshell_id")
    if subshell is not None and not isinstance(subshell, str):
        add(
            problem(
                "header.subshell_id.type",
                f"subshell_id is {_kind(subshell)}",
                "header.subshell_id",
            )
        )


def _check_channel(spec: MessageSpec, channel: str, add: Callable[[Problem], None]) -> None:
    if spec.msg_type == "shutdown_reply" and channel == "iopub":
        add(problem("shutdown_reply.channel.iopub", "shutdown_reply on iopub", "channel"))
    elif channel not in spec.channels:
        add(
            problem(
                "channel",
                f"{spec.msg_type} came on {channel}; it goes on {' or '.join(spec.channels)}",
                "channel",
            )
        )
    elif spec.msg_type == "shutdown_request" and channel == "shell":
        add(
            problem(
                "shutdown_request.channel.shell",
                "shutdown_request sent on shell, deprecated since 5.4",
                "channel",
            )
        )


def _check_parent(
    msg_type: str, parent_header: dict[str, Any], add: Callable[[Problem], None]
) -> None:
    parent_id = parent_header.get("msg_id")
    if not isinstance(parent_id, str) or not parent_id:
        rule = (
            "input_reply.parent_header.required"
            if msg_type == "input_reply"
            else "parent_header.required"
        )
        add(problem(rule, f"{msg_type} has no parent_header", "parent_header"))
        return
    parent_type = parent_header.get("msg_type")
    wanted = msg_type.removesuffix("_reply") + "_request"
    if isinstance(parent_type, str) and parent_type != wanted:
        add(
            problem(
                "parent_header.msg_type",
                f"{msg_type} answers a {parent_type}, not a {wanted}",
                "parent_header.msg_type",
            )
        )


def _check_status(
    spec: MessageSpec, content: dict[str, Any], add: Callable[[Problem], None]
) -> str:
    """Check a reply's status (and its error form); returns the status."""
    msg_type = spec.msg_type
    status = content.get("status", _MISSING)
    if status is _MISSING:
        add(problem(f"{msg_type}.status.required", "the reply has no status", "content.status"))
        return "ok"  # the rest is checked as a success, as clients would read it
    if status not in REPLY_STATUS:
        add(
            problem(
                f"{msg_type}.status.enum",
                f"status {_short(status)} is not 'ok', 'error' or 'aborted'",
                "content.status",
            )
        )
        return ""
    if status == "aborted":
        add(problem("reply.status.aborted", "status 'aborted' is deprecated", "content.status"))
    elif status == "error":
        for field in _ERROR_FIELDS[msg_type]:
            _check_field(field, content, LATEST, add)
    return str(status)


def _check_field(
    field: _Compiled, content: dict[str, Any], at: tuple[int, int], add: Callable[[Problem], None]
) -> None:
    spec = field.field
    if spec.since > at:
        return
    if field.parent and not isinstance(_get(content, field.parent), dict):
        return  # the dict it is in is missing, or not a dict: flagged once, for that dict
    value = _get(content, field.path)
    if value is _MISSING:
        if spec.required:
            add(problem(field.required, f"{spec.path} is missing", field.where))
        return
    if not field.test(value):
        add(problem(field.type, f"{spec.path} is {_kind(value)}, not {spec.kind}", field.where))
    elif spec.enum and value not in spec.enum:
        if value in spec.quirks:
            add(problem(field.quirk, f"{spec.path} is {_short(value)}", field.where))
        else:
            add(problem(field.enum, f"{spec.path} is {_short(value)}", field.where))


def _check_special(
    msg_type: str,
    content: dict[str, Any],
    status: str,
    at: tuple[int, int],
    add: Callable[[Problem], None],
) -> None:
    """The rules that are not about one field's presence or kind."""
    if msg_type == "execute_reply":
        payload = content.get("payload")
        if isinstance(payload, list) and payload:
            add(
                problem(
                    "execute_reply.payload.deprecated",
                    f"{len(payload)} payloads ({', '.join(_sources(payload))})",
                    "content.payload",
                )
            )
    elif msg_type == "execute_result":
        data = content.get("data")
        if isinstance(data, dict) and "text/plain" not in data:
            add(
                problem(
                    "execute_result.data.text_plain",
                    "data has no text/plain",
                    "content.data",
                )
            )
    elif msg_type == "is_complete_reply":
        if content.get("status") == "incomplete" and "indent" not in content:
            add(
                problem(
                    "is_complete_reply.indent.required",
                    "an incomplete reply without indent",
                    "content.indent",
                )
            )
    elif msg_type == "kernel_info_reply" and status == "ok":
        version = content.get("protocol_version")
        if isinstance(version, str) and parse_version(version) is None:
            add(
                problem(
                    "kernel_info_reply.protocol_version.format",
                    f"protocol_version {version!r} is not 'X.Y.Z'",
                    "content.protocol_version",
                )
            )
        if at >= (5, 5) and "debugger" in content and "supported_features" not in content:
            add(
                problem(
                    "kernel_info_reply.debugger.deprecated",
                    "debugger without supported_features",
                    "content.debugger",
                )
            )
    elif msg_type in ("connect_request", "connect_reply") and at >= (5, 1):
        add(problem("connect_request.deprecated", f"{msg_type} is deprecated", "header.msg_type"))


def _sources(payload: list[Any]) -> list[str]:
    return [str(item.get("source", "?")) if isinstance(item, dict) else "?" for item in payload]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
