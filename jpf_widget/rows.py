"""What the view is sent about each log entry: a small Row for the list, a Body on demand.

Both are plain JSON-able dicts; their fields are the contract in ``js/README.md``. The view
holds only the newest rows; :func:`row_filter` picks older ones for it by the view's filters::

    Row:  {"seq": 17, "msg_id": "…", "msg_type": "stream", "channel": "iopub",
           "direction": "from_kernel", "client": "", "t": 1764…4,
           "date": "…", "session": "…", "parent_id": "…", "parent_type": "execute_request",
           "parent_session": "…", "parent_date": "…", "comm_id": "", "summary": "stdout: hi",
           "size": 412, "state": "", "mimes": [], "own": false, "code": "", "problems": 0}

``state`` is a status's execution_state or a reply's status; ``own`` marks the monitor's own
requests (seen through a tap) and what belongs to them.
    Body: {"seq": 17, "header": {…}, "parent_header": {…}, "metadata": {…}, "content": {…},
           "buffers": [1024], "truncated": false, "problems": [{"rule": …, "severity": …,
           "message": …, "path": …, "seq": 17, "msg_id": …, "link": …}]}

``problems`` are what the message itself breaks of the messaging spec (:mod:`jpf_widget.lint`;
the sequence's problems are ``Monitor.problems``): a count in the Row, the list in the Body.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any

import orjson

from .log import Entry
from .messages import DisplayData, ExecuteInput, Marker, Message
from .query import compile_query, state_of

__all__ = ["BODY_LIMIT", "body", "encode_bodies", "row", "row_filter"]

BODY_LIMIT = 4 * 1024 * 1024
_CODE_LIMIT = 2000
_STRING_LIMIT = 256 * 1024


def row(
    entry: Entry, own_requests: Container[str] = (), problems: int | None = None
) -> dict[str, Any]:
    """The list row for a message or a marker. ``problems``: how many rules of the spec the
    message breaks, as the linter found; None checks it now."""
    if isinstance(entry, Marker):
        return {
            "seq": entry.seq,
            "msg_id": "",
            "msg_type": entry.kind,
            "channel": "monitor",
            "t": entry.received * 1000,
            "summary": entry.text,
            "size": 0,
        }
    parent = entry.parent_header
    return {
        "seq": entry.seq,
        "msg_id": entry.msg_id,
        "msg_type": entry.msg_type,
        "channel": entry.channel,
        "direction": entry.direction,
        "client": entry.client or "",
        "t": entry.received * 1000,
        "date": _text(entry.header.get("date")),
        "session": entry.session,
        "parent_id": entry.parent_id,
        "parent_type": entry.parent_type,
        "parent_session": _text(parent.get("session")),
        "parent_date": _text(parent.get("date")),
        "comm_id": entry.comm_id,
        "summary": entry.summary,
        "size": entry.size,
        "state": state_of(entry),
        "mimes": entry.mime_types if isinstance(entry, DisplayData) else [],
        "own": _own(entry, own_requests),
        "code": entry.code[:_CODE_LIMIT] if isinstance(entry, ExecuteInput) else "",
        "problems": len(entry.problems) if problems is None else problems,
    }


def row_filter(
    filters: Mapping[str, Any], own_requests: Container[str] = ()
) -> Callable[[Entry], bool]:
    """Which entries the view's list shows, with the view's filters: the same rules as
    ``makePredicate`` in ``js/src/filter.ts``, for the rows the view asks for by scrolling up.

    ``filters``: ``{"types": [...], "channels": [...], "directions": [...], "clients": [...],
    "text": "", "show_status": false, "cleared_seq": -1, "show_own": false,
    "only_problems": false}`` (missing keys:
    no filter; a client filter keeps iopub, which goes to every client). Entries up to
    ``cleared_seq`` are hidden; markers follow only the channel filter (theirs is ``monitor``);
    ``status`` only with ``show_status`` or chosen as a type; replies to the monitor's own
    requests only with ``show_own``; with ``only_problems``, only messages that break the
    messaging spec (``Message.problems``); the text is a query (:mod:`jpf_widget.query`: free text
    over summary, msg_type, msg_id and comm_id, ignoring case, and ``field:value`` terms).

    Raises
    ------
    jpf_widget.query.QueryError
        the text is not a well-formed query.
    """
    types = frozenset(_strings(filters.get("types")))
    channels = frozenset(_strings(filters.get("channels")))
    directions = frozenset(_strings(filters.get("directions")))
    clients = frozenset(_strings(filters.get("clients")))
    text = str(filters.get("text") or "")
    query = compile_query(text) if text.strip() else None
    show_status = filters.get("show_status") is True or "status" in types
    show_own = filters.get("show_own") is True
    only_problems = filters.get("only_problems") is True
    cleared = filters.get("cleared_seq")
    cleared = cleared if isinstance(cleared, int) else -1

    def keep(entry: Entry) -> bool:
        if entry.seq <= cleared:
            return False
        if isinstance(entry, Marker):
            return not channels or "monitor" in channels
        if not show_own and _own(entry, own_requests):
            return False
        if channels and entry.channel not in channels:
            return False
        if directions and entry.direction not in directions:
            return False
        if clients and entry.client is not None and entry.client not in clients:
            return False
        if entry.msg_type == "status" and not show_status:
            return False
        if types and entry.msg_type not in types:
            return False
        if only_problems and not entry.problems:
            return False
        return query is None or query(entry)

    return keep


def _own(message: Message, own_requests: Container[str]) -> bool:
    """Whether the message is one of the monitor's own requests (seen through a tap), or
    belongs to one."""
    return message.parent_id in own_requests or message.msg_id in own_requests


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def body(message: Message) -> dict[str, Any]:
    """The whole message for rendered and raw views; huge contents have long strings cut."""
    content: Any = message.content
    truncated = message.content_size > BODY_LIMIT
    if truncated:
        content = _cut_strings(content)
    return {
        "seq": message.seq,
        "header": message.header,
        "parent_header": message.parent_header,
        "metadata": message.metadata,
        "content": content,
        "buffers": [len(buffer) for buffer in message.buffers],
        "truncated": truncated,
        "problems": [problem.to_dict() for problem in message.problems],
    }


def encode_bodies(messages: list[Message]) -> bytes:
    """The messages' bodies as one JSON array. A content nested too deeply for the encoder
    (orjson stops at 254 levels) is sent as its text, so one such message cannot fail the rest."""
    parts = []
    for message in messages:
        item = body(message)
        try:
            parts.append(orjson.dumps(item))
        except TypeError:
            text = message.content_text[:_STRING_LIMIT]
            parts.append(orjson.dumps({**item, "content": {"_jpf_unparsed": text}}))
    return b"[" + b",".join(parts) + b"]"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _cut_strings(value: Any) -> Any:
    """A copy of ``value`` with every string longer than the limit cut (iteratively: content
    can be nested deeper than Python's recursion limit)."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, str) and len(item) > _STRING_LIMIT:
            container[key] = item[:_STRING_LIMIT] + f"… [{len(item) - _STRING_LIMIT} more chars]"
        elif isinstance(item, dict):
            copy = dict(item)
            container[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, list):
            copy_list = list(item)
            container[key] = copy_list
            stack.extend((copy_list, i) for i in range(len(copy_list)))
    return root[0]
