"""The message record, and typed views of each message family so code can switch on them.

A :data:`Record` is what capture keeps of one message: a plain tuple of the fields the log
indexes and the four JSON frames as the bytes that came off the wire. A :class:`Message` is a
typed view of a record, made when the message is read; its JSON frames are parsed on each
access. Every message is an instance of the class for its family::

    match msg:
        case Stream(name="stderr"):  print("stderr:", msg.text)
        case Status():               print(msg.execution_state)
        case DisplayData():          print(sorted(msg.data))

``Message.summary`` is the one-line text the view shows for a row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from sys import intern
from typing import Any, ClassVar, Final, overload

import orjson

from .lint import Problem, check
from .wire import Blob, Frames

__all__ = [
    "FROM_KERNEL",
    "MSG_TYPE",
    "PARENT_ID",
    "SEQ",
    "SESSION",
    "TO_KERNEL",
    "ClearOutput",
    "CommClose",
    "CommMsg",
    "CommOpen",
    "DisplayData",
    "Error",
    "ExecuteInput",
    "ExecuteReply",
    "ExecuteResult",
    "KernelInfoReply",
    "Marker",
    "Message",
    "MessageList",
    "Record",
    "Status",
    "Stream",
    "UpdateDisplayData",
    "comm_id_of",
    "make_message",
    "new_record",
]

_SUMMARY_MAX = 200


# What the log keeps of one message: a plain tuple of numbers, strings and bytes. The garbage
# collector stops tracking such a tuple the first time it sees it, so a log of a million messages
# costs its collections nothing (as objects, each pass walked all of them: 90-180 ms pauses in
# the kernel that hosts the monitor, with only 30,000 held).
Record = tuple[
    int,  # seq
    str,  # channel
    float,  # received
    str,  # msg_id
    str,  # msg_type
    str,  # session
    str,  # parent_id
    str,  # parent_type
    str,  # comm_id
    bytes,  # header, as sent
    bytes,  # parent_header, as sent
    bytes,  # metadata, as sent
    Blob,  # content, as sent
    tuple[Blob, ...],  # buffers
    str,  # direction: "from_kernel" or "to_kernel"
    str,  # client: a short id of the client a shell/control/stdin message went to or came from
    int,  # size on the wire, all frames
]


# Places in a Record that other modules read directly, on paths where making a view would cost
SEQ: Final = 0
MSG_TYPE: Final = 4
SESSION: Final = 5
PARENT_ID: Final = 6


FROM_KERNEL: Final = "from_kernel"
TO_KERNEL: Final = "to_kernel"


def new_record(
    seq: int,
    channel: str,
    received: float,
    frames: Frames,
    *,
    direction: str = FROM_KERNEL,
    client: str = "",
) -> Record:
    """The log's record of a message that passed its checks."""
    # wire.split_frames checked msg_id and msg_type are strings, and parent's msg_id
    header, parent = frames.header, frames.parent_header
    msg_type = header["msg_type"]
    session = header.get("session", "")
    parent_type = parent.get("msg_type") or ""
    content = frames.content_bytes
    return (
        seq,
        channel,
        received,
        header["msg_id"],
        # interned: these repeat across thousands of messages, and a held message should cost
        # its bytes, not another copy of its session's name
        intern(msg_type),
        intern(session if type(session) is str else str(session)),
        intern(parent.get("msg_id") or ""),
        intern(parent_type if type(parent_type) is str else str(parent_type)),
        comm_id_of(content) if msg_type in COMM_TYPES else "",
        frames.header_bytes,
        frames.parent_bytes,
        frames.metadata_bytes,
        content,
        frames.buffers,
        direction,
        client,
        frames.size,
    )


class Message:
    """One captured message: a typed, read-only view of the log's record of it.

    Attributes
    ----------
    seq : int
        Position in this monitor's capture, unique and increasing.
    channel : str
        ``"iopub"``, ``"shell"``, ``"control"`` or ``"stdin"``. Without a tap only iopub, and
        the replies to the monitor's own requests on shell, are seen.
    direction : str
        ``"from_kernel"`` or ``"to_kernel"`` (requests and replies from clients: only through
        a tap).
    client : str or None
        A short, stable id of the client a shell, control or stdin message came from or went
        to (seen through a tap); None on iopub, which goes to every client.
    received : float
        Local time of arrival, seconds since the epoch.
    size : int
        Bytes on the wire, all frames.
    msg_id, msg_type, session, parent_id, parent_type, comm_id : str
        Read from the headers (and a comm's content) on arrival, for the log's indexes.

    The JSON frames are kept as the bytes that came off the wire and parsed on each access of
    ``header``, ``parent_header``, ``metadata`` and ``content``: a million small messages then
    cost a few hundred bytes each, not the kilobytes of their parsed dicts. Two views of the
    same record are equal.
    """

    __slots__ = ("_record",)
    __match_args__: ClassVar[tuple[str, ...]] = ("msg_type",)

    def __init__(self, record: Record) -> None:
        self._record = record

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} #{self.seq} {self.channel} {self.msg_type} "
            f"{self.msg_id!r} parent={self.parent_id!r}>"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other._record == self._record

    def __hash__(self) -> int:
        return hash((self._record[0], self._record[3]))

    @property
    def seq(self) -> int:
        return self._record[0]

    @property
    def channel(self) -> str:
        return self._record[1]

    @property
    def received(self) -> float:
        return self._record[2]

    @property
    def msg_id(self) -> str:
        return self._record[3]

    @property
    def msg_type(self) -> str:
        return self._record[4]

    @property
    def session(self) -> str:
        return self._record[5]

    @property
    def parent_id(self) -> str:
        return self._record[6]

    @property
    def parent_type(self) -> str:
        return self._record[7]

    @property
    def comm_id(self) -> str:
        return self._record[8]

    @property
    def buffers(self) -> tuple[Blob, ...]:
        """The binary buffers; one of 256 KB or more is a memoryview of the received frame."""
        return self._record[13]

    @property
    def direction(self) -> str:
        return self._record[14]

    @property
    def client(self) -> str | None:
        return self._record[15] or None

    @property
    def size(self) -> int:
        return self._record[16]

    @property
    def header(self) -> dict[str, Any]:
        return _lenient_object(self._record[9])

    @property
    def parent_header(self) -> dict[str, Any]:
        return _lenient_object(self._record[10])

    @property
    def metadata(self) -> dict[str, Any]:
        return _lenient_object(self._record[11])

    @property
    def content(self) -> dict[str, Any]:
        return _lenient_object(self._record[12])

    @property
    def content_text(self) -> str:
        """The content frame as sent, as text."""
        return str(self._record[12], "utf-8", "replace")

    @property
    def content_size(self) -> int:
        """The size of the content frame as sent."""
        return len(self._record[12])

    @property
    def summary(self) -> str:
        """One line for the message list."""
        return _one_line(_first_scalar(self.content))

    @property
    def problems(self) -> list[Problem]:
        """What this message breaks of the messaging spec (:mod:`jpf_widget.lint`), checked on
        each access against its header's protocol version; [] for a clean message. Rules
        across messages are in ``Monitor.problems``."""
        found = check(self.header, self.parent_header, self.content, self.channel)
        return [each._replace(seq=self.seq, msg_id=self.msg_id) for each in found]

    def to_dict(self) -> dict[str, Any]:
        """The message as the spec's dict, with buffer sizes instead of buffers."""
        return {
            "header": self.header,
            "parent_header": self.parent_header,
            "metadata": self.metadata,
            "content": self.content,
            "buffers": [len(buffer) for buffer in self.buffers],
            "channel": self.channel,
            "direction": self.direction,
            "client": self.client,
        }


class Status(Message):
    __slots__ = ()

    @property
    def execution_state(self) -> str:
        return str(self.content.get("execution_state", ""))

    @property
    def summary(self) -> str:
        return self.execution_state


class Stream(Message):
    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self.content.get("name", ""))

    @property
    def text(self) -> str:
        return str(self.content.get("text", ""))

    @property
    def summary(self) -> str:
        return _one_line(f"{self.name}: {self.text}")


class ExecuteInput(Message):
    __slots__ = ()

    @property
    def code(self) -> str:
        return str(self.content.get("code", ""))

    @property
    def execution_count(self) -> int | None:
        count = self.content.get("execution_count")
        return count if isinstance(count, int) else None

    @property
    def summary(self) -> str:
        first = self.code.strip().splitlines()[0] if self.code.strip() else ""
        return _one_line(f"[{self.execution_count}] {first}")


class DisplayData(Message):
    __slots__ = ()

    @property
    def data(self) -> dict[str, Any]:
        data = self.content.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def transient(self) -> dict[str, Any]:
        transient = self.content.get("transient")
        return transient if isinstance(transient, dict) else {}

    @property
    def display_id(self) -> str:
        return str(self.transient.get("display_id", "") or "")

    @property
    def mime_types(self) -> list[str]:
        return list(self.data)

    @property
    def summary(self) -> str:
        shown = ", ".join(self.mime_types) or "(no data)"
        if self.display_id:
            shown += f" (display_id {self.display_id})"
        return _one_line(shown)


class UpdateDisplayData(DisplayData):
    __slots__ = ()


class ExecuteResult(DisplayData):
    __slots__ = ()

    @property
    def execution_count(self) -> int | None:
        count = self.content.get("execution_count")
        return count if isinstance(count, int) else None

    @property
    def summary(self) -> str:
        plain = self.data.get("text/plain")
        text = plain if isinstance(plain, str) else ", ".join(self.mime_types)
        return _one_line(f"Out[{self.execution_count}]: {text}")


class Error(Message):
    __slots__ = ()

    @property
    def ename(self) -> str:
        return str(self.content.get("ename", ""))

    @property
    def evalue(self) -> str:
        return str(self.content.get("evalue", ""))

    @property
    def traceback(self) -> list[str]:
        traceback = self.content.get("traceback")
        return [str(line) for line in traceback] if isinstance(traceback, list) else []

    @property
    def summary(self) -> str:
        return _one_line(f"{self.ename}: {self.evalue}")


class ClearOutput(Message):
    __slots__ = ()

    @property
    def wait(self) -> bool:
        return bool(self.content.get("wait", False))

    @property
    def summary(self) -> str:
        return "wait=True" if self.wait else "wait=False"


class _Comm(Message):
    __slots__ = ()

    @property
    def data(self) -> dict[str, Any]:
        data = self.content.get("data")
        return data if isinstance(data, dict) else {}


class CommOpen(_Comm):
    __slots__ = ()

    @property
    def target_name(self) -> str:
        return str(self.content.get("target_name", ""))

    @property
    def summary(self) -> str:
        return _one_line(f"{self.target_name} {self.comm_id[:8]}")


class CommMsg(_Comm):
    __slots__ = ()

    @property
    def summary(self) -> str:
        return _one_line(f"{self.comm_id[:8]} {_compact(self.data)}")


class CommClose(_Comm):
    __slots__ = ()

    @property
    def summary(self) -> str:
        return self.comm_id[:8]


class _Reply(Message):
    __slots__ = ()

    @property
    def reply_status(self) -> str:
        return str(self.content.get("status", ""))


class KernelInfoReply(_Reply):
    __slots__ = ()

    @property
    def implementation(self) -> str:
        return str(self.content.get("implementation", ""))

    @property
    def language_info(self) -> dict[str, Any]:
        info = self.content.get("language_info")
        return info if isinstance(info, dict) else {}

    @property
    def protocol_version(self) -> str:
        return str(self.content.get("protocol_version", ""))

    @property
    def summary(self) -> str:
        language = self.language_info
        return _one_line(
            f"{self.implementation} {self.content.get('implementation_version', '')}, "
            f"{language.get('name', '')} {language.get('version', '')}, "
            f"protocol {self.protocol_version}"
        )


class ExecuteReply(_Reply):
    __slots__ = ()

    @property
    def execution_count(self) -> int | None:
        count = self.content.get("execution_count")
        return count if isinstance(count, int) else None

    @property
    def summary(self) -> str:
        return _one_line(f"{self.reply_status} [{self.execution_count}]")


_FAMILIES: dict[str, type[Message]] = {
    "status": Status,
    "stream": Stream,
    "execute_input": ExecuteInput,
    "execute_result": ExecuteResult,
    "display_data": DisplayData,
    "update_display_data": UpdateDisplayData,
    "error": Error,
    "clear_output": ClearOutput,
    "comm_open": CommOpen,
    "comm_msg": CommMsg,
    "comm_close": CommClose,
    "kernel_info_reply": KernelInfoReply,
    "execute_reply": ExecuteReply,
}


def make_message(record: Record) -> Message:
    """The typed message for a record (a plain :class:`Message` for unknown types)."""
    msg_type = record[4]
    family = _FAMILIES.get(msg_type)
    if family is None:
        family = _Reply if msg_type.endswith("_reply") else Message
    return family(record)


class MessageList(Sequence[Message]):
    """Messages in capture order, each made a :class:`Message` when it is read: a list of a
    million held messages costs a pointer per message, not an object. Equal to a list of the
    same messages."""

    __slots__ = ("_records",)

    def __init__(self, records: list[Record]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> Message: ...

    @overload
    def __getitem__(self, index: slice) -> MessageList: ...

    def __getitem__(self, index: int | slice) -> Message | MessageList:
        if isinstance(index, slice):
            return MessageList(self._records[index])
        return make_message(self._records[index])

    def __iter__(self) -> Iterator[Message]:
        return map(make_message, self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MessageList):
            return self._records == other._records
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]  # unhashable, like the list it stands for

    def __repr__(self) -> str:
        return f"<MessageList of {len(self)}>"


_COMM_ID = re.compile(rb'^\s*\{\s*"comm_id"\s*:\s*"([^"\\]*)"')
COMM_TYPES = frozenset(("comm_open", "comm_msg", "comm_close"))


def comm_id_of(content: Blob) -> str:
    """The ``comm_id`` of a comm message's content frame.

    Senders put ``comm_id`` first, so it is read from the frame's start without parsing what
    may be megabytes of ``data``; any other layout is parsed in full.
    """
    match = _COMM_ID.match(content, 0, 256)
    if match:
        return str(match[1], "utf-8", "replace")
    value = _lenient_object(content).get("comm_id")
    return value if isinstance(value, str) else ""


def _lenient_object(data: Blob) -> dict[str, Any]:
    """Parse a metadata or content frame; what is not a JSON object is kept, not dropped."""
    if not data:
        return {}
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {"_jpf_unparsed": str(data[:4096], "utf-8", "replace")}
    if value is None:  # some kernels send a null parent_header (iopub_welcome)
        return {}
    return value if isinstance(value, dict) else {"_jpf_value": value}


def _one_line(text: str) -> str:
    line = " ".join(text[: _SUMMARY_MAX * 4].split())
    return line if len(line) <= _SUMMARY_MAX else line[: _SUMMARY_MAX - 1] + "…"


def _compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()[:_SUMMARY_MAX]
    except TypeError:
        return str(value)[:_SUMMARY_MAX]


def _first_scalar(content: dict[str, Any]) -> str:
    for key, value in content.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return f"{key}: {value}"
    return _compact(content) if content else ""


class Marker:
    """Something the monitor itself noticed (attached, restart, dead, gap), in the log's order.

    Markers are not messages: :attr:`Monitor.messages` leaves them out, the view draws them as
    separator lines.
    """

    __slots__ = ("kind", "received", "seq", "text")
    channel = "monitor"
    size = 0

    def __init__(self, seq: int, received: float, kind: str, text: str) -> None:
        self.seq = seq
        self.received = received
        self.kind = kind
        self.text = text

    def __repr__(self) -> str:
        return f"<Marker #{self.seq} {self.kind}: {self.text}>"
