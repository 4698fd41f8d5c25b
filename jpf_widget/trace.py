"""The trace file: a recording of a kernel's messages, as JSON Lines, written and read as a stream.

A trace is one JSON object per line (``docs/trace-format.md`` is the reference)::

    {"type": "header", "format": "jpf-trace", "version": 1, "tool": "jpf_widget 0.1.0",
     "kernel_id": "…", "kernel_info": {…}, "connection": {…}, "capture": "tap",
     "started": "2026-12-04T15:35:16.123456Z", "started_ns": 1733…, "monotonic_ns": 8812…}
    {"type": "marker", "kind": "attached", "text": "…", "received": "…", "t": 1733…, "ns": 0}
    {"type": "message", "channel": "shell", "direction": "to_kernel", "client": "1a2b3c",
     "received": "…", "t": 1733…, "ns": 15000, "size": 512, "header": {…},
     "parent_header": {…}, "metadata": {…}, "content": {…}, "buffers": ["AAEC…"]}
    {"type": "end", "stats": {"captured": 12, "lost": 0, …}}

:class:`TraceWriter` writes the JSON frames as the log holds them (the bytes that came off the
wire) rather than parsing and encoding them again (``_trace.c``: a message line in one pass,
content and metadata scanned to make sure they are JSON); :class:`TraceReader` cuts them from
the line as they are (``_trace.c``: one pass over a message line, only the header parsed). It
yields one item per line, counts the lines it cannot use (not JSON, fields missing or of the
wrong type, a truncated last line, the cut end of a gzip stream) in ``malformed`` and never
raises on them.
Both hold one line at a time: memory stays bounded whatever the size of the file. A name
ending in ``.gz`` is gzip-compressed. The key and signatures are never written.
"""

from __future__ import annotations

import base64
import gzip
import os
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import IO, Any, NamedTuple

import orjson

from . import __version__, _trace
from .messages import FROM_KERNEL, Marker, Message, Record, new_record
from .wire import _PARENT_CACHED, Frames, _parent_header, _parse_parent_header

__all__ = [
    "FORMAT",
    "VERSION",
    "RecordedMessage",
    "TraceEnd",
    "TraceError",
    "TraceReader",
    "TraceWriter",
    "iso_time",
    "marker_line",
    "message_line",
]

FORMAT = "jpf-trace"
VERSION = 1
# Never written, whatever a caller passes as connection info
_SECRET_FIELDS = frozenset(("key", "token", "password", "signature"))
_WRITE_BUFFER = 1 << 20  # bytes of lines gathered before a write
# The end of 9999: a line's receive time must come before it, and after 1970 (both readers)
_LATEST_TIME = 253_402_300_800.0
_GZIP_LEVEL = 1  # fast: a trace is written while capturing


class TraceError(ValueError):
    """The file is not a trace this version can read (the message says why)."""


class RecordedMessage(NamedTuple):
    """A message as read from a trace: where it went, when, and its frames."""

    channel: str
    direction: str
    client: str
    received: float  # seconds since the epoch
    own: bool  # one of the recording monitor's own requests
    frames: Frames

    def record(self, seq: int = 0) -> Record:
        """The log's record of it (``seq`` as given)."""
        return new_record(
            seq,
            self.channel,
            self.received,
            self.frames,
            direction=self.direction,
            client=self.client,
        )


class TraceEnd(NamedTuple):
    """The last line of a trace that was closed properly: the counters at the end."""

    stats: dict[str, Any]


TraceItem = RecordedMessage | Marker | TraceEnd


def iso_time(seconds: float) -> str:
    """``seconds`` since the epoch as an ISO 8601 UTC time with microseconds."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _open(path: str | os.PathLike[str], mode: str) -> IO[bytes]:
    if os.fspath(path).endswith(".gz"):
        return gzip.open(path, mode, compresslevel=_GZIP_LEVEL)  # type: ignore[return-value]
    return open(path, mode)


class _Clock:
    """Turns a record's receive time into the line's ISO time and nanosecond stamp, cheaply:
    messages of one batch share a time, and the date part changes once a second."""

    __slots__ = ("_last", "_last_iso", "_second", "_second_text", "origin")

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self._second = -1
        self._second_text = ""
        self._last = -1.0
        self._last_iso = ""

    def iso(self, when: float) -> str:
        if when == self._last:
            return self._last_iso
        second = int(when)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        micros = min(int((when - second) * 1e6 + 0.5), 999_999)
        self._last, self._last_iso = when, f"{self._second_text}.{micros:06d}Z"
        return self._last_iso

    def ns(self, when: float) -> int:
        return round((when - self.origin) * 1e9)


def _json_frame(data: bytes | memoryview, check: bool = False) -> bytes:
    """A JSON frame as it goes into a line: as held when it is JSON on one line (``check``:
    parsed to make sure it is JSON; the header frames were parsed on arrival), else parsed
    and encoded again (JSON with newlines in it), else kept as a string in an object."""
    if not data:
        return b"{}"
    if type(data) is not bytes:
        data = bytes(data)
    one_line = b"\n" not in data
    if one_line and not check:
        return data
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return orjson.dumps({"_jpf_unparsed": str(data, "utf-8", "replace")})
    return data if one_line else orjson.dumps(value)


_PARENT, _METADATA, _CONTENT, _BUFFERS = (
    b',"parent_header":',
    b',"metadata":',
    b',"content":',
    b',"buffers":',
)
_NAMES: dict[str, str] = {}  # channel, direction and client names, as JSON strings


def _name(text: str) -> str:
    encoded = _NAMES.get(text)
    if encoded is None:
        encoded = orjson.dumps(text).decode() if text else "null"
        if len(_NAMES) < 10_000:
            _NAMES[text] = encoded
    return encoded


def message_line(
    record: Record, clock: _Clock | None = None, own: bool = False, seq: bool = True
) -> bytes:
    """One message's line (with its newline)."""
    received = record[2]
    clock = clock or _Clock(received)
    line = _trace.line(record, clock.iso(received), clock.ns(received), own, seq)
    return _general_line(record, clock, own, seq) if line is None else line


def _general_line(record: Record, clock: _Clock, own: bool, seq: bool) -> bytes:
    """What ``_trace.line`` leaves to Python: frames with a newline in them or JSON its
    scanner is unsure of, names with characters to escape, many buffers."""
    (
        number,
        channel,
        received,
        _,
        _,
        _,
        _,
        _,
        _,
        header,
        parent,
        metadata,
        content,
        buffers,
        direction,
        client,
        size,
    ) = record
    # the fixed fields, formatted directly: dumping a dict of them cost a fifth of the line
    numbered = f'"seq":{number},' if seq else ""
    mine = ',"own":true' if own else ""
    header = _json_frame(header)
    parent = _json_frame(parent)
    metadata = b"{}" if metadata == b"{}" else _json_frame(metadata, True)
    content = _json_frame(content, True)
    head = (
        f'{{"type":"message",{numbered}"channel":{_name(channel)},'
        f'"direction":{_name(direction)},"client":{_name(client)},'
        f'"received":"{clock.iso(received)}","t":{received!r},"ns":{clock.ns(received)},'
        f'"size":{size}{mine},"header":'
    )
    return b"".join(
        (
            head.encode(),
            header,
            _PARENT,
            parent,
            _METADATA,
            metadata,
            _CONTENT,
            content,
            _BUFFERS,
            orjson.dumps([base64.b64encode(buffer).decode("ascii") for buffer in buffers])
            if buffers
            else b"[]",
            b"}\n",
        )
    )


def marker_line(marker: Marker, clock: _Clock | None = None) -> bytes:
    """One marker's line (with its newline)."""
    when = marker.received
    clock = clock or _Clock(when)
    line = {
        "type": "marker",
        "kind": marker.kind,
        "text": marker.text,
        "received": clock.iso(when),
        "t": when,
        "ns": clock.ns(when),
    }
    return orjson.dumps(line) + b"\n"


class TraceWriter:
    """Write a trace, a message at a time.

    Parameters
    ----------
    path : str or os.PathLike
        Where; ``.gz`` at the end compresses it.
    kernel_id, kernel_info, connection, capture
        What the header says of the kernel and how it was watched (``connection`` without a
        key: any ``key`` or ``token`` in it is left out).
    started : float, optional
        When the capture started (seconds since the epoch; default now).

    Use as a context manager, or call :meth:`close`; :meth:`close` with ``stats`` writes the
    ``end`` line.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        kernel_id: str = "",
        kernel_info: dict[str, Any] | None = None,
        connection: dict[str, Any] | None = None,
        capture: str = "",
        started: float | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.written = 0  # messages
        self.markers = 0
        self.wire_bytes = 0  # their size on the wire
        started = time.time() if started is None else started
        self._clock = _Clock(started)
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._file = _open(self.path, "wb")
        header = {
            "type": "header",
            "format": FORMAT,
            "version": VERSION,
            "tool": f"jpf_widget {__version__}",
            "kernel_id": kernel_id,
            "kernel_info": kernel_info,
            "connection": {
                name: value
                for name, value in (connection or {}).items()
                if name not in _SECRET_FIELDS
            },
            "capture": capture,
            "started": iso_time(started),
            "started_ns": round(started * 1e9),
            "monotonic_ns": time.monotonic_ns(),
        }
        self._write(orjson.dumps(header) + b"\n")

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write(self, line: bytes) -> None:
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= _WRITE_BUFFER:
            self.flush()

    def flush(self) -> None:
        """Write what is gathered to the file (and to the disk's cache)."""
        if self._pending:
            self._file.write(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0
        self._file.flush()

    def write_record(self, record: Record, own: bool = False) -> None:
        """One message, from the log's record of it."""
        self._write(message_line(record, self._clock, own))
        self.written += 1
        self.wire_bytes += record[16]

    def write_records(self, records: Iterable[Record | Marker], own: Iterable[str] = ()) -> None:
        """Messages (as the log's records) and markers, in order; messages whose msg_id or
        parent's msg_id is in ``own`` are marked as the recording monitor's own requests and
        what answers them."""
        own_ids = set(own)
        clock = self._clock
        lines: list[bytes] = []
        count = size = markers = 0
        for record in records:
            if isinstance(record, Marker):
                lines.append(marker_line(record, clock))
                markers += 1
                continue
            mine = bool(own_ids) and (record[3] in own_ids or record[6] in own_ids)
            lines.append(message_line(record, clock, mine))
            count += 1
            size += record[16]
        self._pending += lines
        self._pending_bytes += sum(map(len, lines))
        if self._pending_bytes >= _WRITE_BUFFER:
            self.flush()
        self.written += count
        self.markers += markers
        self.wire_bytes += size

    def write_message(self, message: Message, own: bool = False) -> None:
        self.write_record(message._record, own)

    def write_marker(self, marker: Marker) -> None:
        """Something the monitor noticed: ``attached``, ``restart``, ``loss``, ``dead``, …"""
        self._write(marker_line(marker, self._clock))
        self.markers += 1

    def close(self, stats: dict[str, Any] | None = None) -> None:
        """Write the ``end`` line (when ``stats`` are given) and close the file. Idempotent."""
        if self._file.closed:
            return
        if stats is not None:
            self._write(orjson.dumps({"type": "end", "stats": stats}) + b"\n")
        self.flush()
        self._file.close()


class TraceReader:
    """Read a trace, a line at a time.

    Opening reads the header (``header``); iterating yields a :class:`RecordedMessage`, a
    :class:`~jpf_widget.messages.Marker` or a :class:`TraceEnd` per good line, in the file's
    order, and counts every other line in ``malformed``.

    Raises
    ------
    OSError
        the file cannot be opened.
    TraceError
        it is not a trace (its first line is no trace record) or of a newer format version.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.malformed = 0
        self.lines = 0
        self.end: dict[str, Any] | None = None
        self._file = _open(self.path, "rb")
        try:
            first = self._file.readline()
        except (EOFError, OSError, zlib.error) as exc:
            self._file.close()
            raise TraceError(f"{self.path} is not a readable trace: {exc}") from None
        self._first: bytes | None = None
        try:
            value = orjson.loads(first) if first.strip() else None
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict) and value.get("type") == "header":
            if value.get("format") != FORMAT:
                self._file.close()
                raise TraceError(f"{self.path} is not a jpf trace (format {value.get('format')!r})")
            version = value.get("version")
            if not isinstance(version, int) or version > VERSION:
                self._file.close()
                raise TraceError(
                    f"{self.path} is a trace of format version {version!r}; this jpf_widget "
                    f"reads up to version {VERSION}: upgrade jpf_widget"
                )
            self.header: dict[str, Any] = value
            self.lines = 1
        elif isinstance(value, dict) and value.get("type") in ("message", "marker"):
            # a damaged header: the records after it are still worth reading
            self.header = {}
            self._first = first
        else:
            self._file.close()
            what = "is empty" if not first else "does not start with a trace header"
            raise TraceError(f"{self.path} {what}: it is not a jpf trace file")

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def kernel_info(self) -> dict[str, Any] | None:
        info = self.header.get("kernel_info")
        return info if isinstance(info, dict) else None

    @property
    def started(self) -> float | None:
        ns = self.header.get("started_ns")
        return ns / 1e9 if isinstance(ns, int) else None

    def __iter__(self) -> Iterator[TraceItem]:
        if self._first is not None:
            self.malformed += 1  # the header line that was not one
            self.lines += 1
            item = self._parse(self._first)
            self._first = None
            if item is not None:
                yield item
        parse = self._parse
        try:
            for line in self._file:
                self.lines += 1
                item = parse(line)
                if item is not None:
                    yield item
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
            self.malformed += 1  # a compressed stream cut short: what followed is gone

    def messages(self) -> Iterator[RecordedMessage]:
        """Only the messages."""
        for item in self:
            if isinstance(item, RecordedMessage):
                yield item

    def _parse(self, line: bytes) -> TraceItem | None:
        item = _message_line(line)  # a message line, read in one pass (_trace.c)
        if item is not None:
            return item
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            if line.strip():
                self.malformed += 1
            return None
        try:
            kind = value["type"]
            if kind == "message":
                return _message(value)
            if kind == "marker":
                return _marker(value)
            if kind == "end" and isinstance(value["stats"], dict):
                self.end = value["stats"]
                return TraceEnd(value["stats"])
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
        self.malformed += 1
        return None


def _copy(data: bytes) -> bytes:
    """A copy of ``data`` that holds only its bytes (what ``orjson.dumps`` returns holds a
    4 KiB buffer whatever its length)."""
    return memoryview(data).tobytes()


def _buffers(encoded: Iterable[bytes | str]) -> tuple[bytes, ...]:
    """The buffers of a line, from base64; ValueError when one is not base64."""
    return tuple(base64.b64decode(b, validate=True) for b in encoded)


def _receive_time(value: dict[str, Any]) -> float:
    """A line's ``t``; TypeError when it is not a number, ValueError when it is no time a
    capture could have (before 1970, or after 9999: no ISO time could be written for it)."""
    when = value["t"]
    if type(when) is not float:
        if type(when) is not int:
            raise TypeError("t")
        when = float(when)
    if not 0.0 <= when < _LATEST_TIME:
        raise ValueError(f"t {when!r} is no receive time")
    return when


def _marker(value: dict[str, Any]) -> Marker:
    """A marker line's item; KeyError, TypeError or ValueError when it is not one."""
    return Marker(-1, _receive_time(value), str(value["kind"]), str(value.get("text", "")))


def _message(value: dict[str, Any]) -> RecordedMessage:
    """A message line's item, read the general way (its frames encoded again: a line edited
    by hand, or that ``_trace.message`` left to orjson); KeyError, TypeError or ValueError
    when it is not one."""
    header = value["header"]
    msg_id, msg_type = header["msg_id"], header["msg_type"]
    if type(msg_id) is not str or type(msg_type) is not str:
        raise TypeError("msg_id")
    parent = value["parent_header"]
    if parent is not None and type(parent) is not dict:
        raise TypeError("parent_header")
    parent_bytes = _copy(orjson.dumps(parent)) if parent else b"{}"
    if len(parent_bytes) <= _PARENT_CACHED:
        parent_bytes, parent = _parent_header(parent_bytes)
    else:
        parent = _parse_parent_header(parent_bytes)
    metadata_bytes = _copy(orjson.dumps(value["metadata"]))
    content_bytes = _copy(orjson.dumps(value["content"]))
    channel, direction = value["channel"], value.get("direction") or FROM_KERNEL
    client, when = value.get("client") or "", _receive_time(value)
    if type(channel) is not str or type(direction) is not str or type(client) is not str:
        raise TypeError("channel")
    buffers = _buffers(value.get("buffers") or ())
    header_bytes = _copy(orjson.dumps(header))
    size = value.get("size")
    if type(size) is not int:
        size = (
            len(header_bytes)
            + len(parent_bytes)
            + len(metadata_bytes)
            + len(content_bytes)
            + sum(map(len, buffers))
        )
    frames = Frames(
        b"",
        header,
        parent,
        header_bytes,
        parent_bytes,
        metadata_bytes,
        content_bytes,
        buffers,
        size,
    )
    return RecordedMessage(channel, direction, client, when, value.get("own") is True, frames)


# _message_line(line) -> RecordedMessage | None: a message line read in one pass, in C; None
# when the line is to be read the general way (see _trace.c)
_trace.configure(
    Frames,
    RecordedMessage,
    orjson.loads,
    _parent_header,
    _PARENT_CACHED,
    _parse_parent_header,
    _buffers,
    _LATEST_TIME,
)
_message_line = _trace.message
