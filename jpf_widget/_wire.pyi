"""The compiled half of wire.py (``_wire.c``): split frames, check a batch's signatures."""

from collections.abc import Callable
from typing import Any

from .wire import Blob, Frames

def split(frames: list[Blob], /) -> Frames: ...
def check_all(key: bytes, digest: str, batch: list[Frames], /) -> bytes: ...
def configure(
    malformed: type[Exception],
    frames: type[Frames],
    loads: Callable[[bytes], Any],
    json_object: Callable[[bytes, str], dict[str, Any]],
    parent_header: Callable[[bytes], tuple[bytes, dict[str, Any]]],
    cached_up_to: int,
    parse_parent_header: Callable[[bytes], dict[str, Any]],
    /,
) -> None: ...
