"""Check a batch of Jupyter message signatures with the GIL released (``_signatures.c``)."""

from .wire import Frames

def check_all(key: bytes, digest: str, batch: list[Frames], /) -> bytes: ...
