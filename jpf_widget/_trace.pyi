"""The compiled half of trace.py (``_trace.c``): read one message line of a trace in one pass,
and write one."""

from collections.abc import Callable
from typing import Any

from .messages import Record
from .trace import RecordedMessage
from .wire import Frames

def message(line: bytes, /) -> RecordedMessage | None: ...
def line(
    record: Record, received_iso: str, ns: int, own: bool, numbered: bool, /
) -> bytes | None: ...
def configure(
    frames: type[Frames],
    recorded: type[RecordedMessage],
    loads: Callable[[bytes], Any],
    parent_header: Callable[[bytes], tuple[bytes, dict[str, Any]]],
    cached_up_to: int,
    parse_parent_header: Callable[[bytes], dict[str, Any]],
    decode_buffers: Callable[[list[bytes]], tuple[bytes, ...]],
    latest_time: float,
    /,
) -> None: ...
