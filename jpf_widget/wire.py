"""The Jupyter wire format: split frames, check signatures, parse headers, sign our requests.

A message on a ZMQ socket is a list of frames::

    [ident, ..., b"<IDS|MSG>", signature, header, parent_header, metadata, content, buffer, ...]

``signature`` is the hex HMAC of the four JSON frames that follow it, keyed with the connection
file's ``key`` (an empty key means unsigned, and the signature frame is empty). This module is
the fast path: it checks the HMAC, parses only ``header`` and ``parent_header`` and leaves
``metadata`` and ``content`` as bytes, to be parsed when someone looks at them. What it does
to every message (split the frames, check a batch's signatures) is compiled, in ``_wire.c``.
"""

from __future__ import annotations

import functools
import hmac
import os
import uuid
from datetime import datetime, timezone
from typing import Any, NamedTuple

import orjson

from . import _wire

__all__ = ["DELIMITER", "Blob", "Frames", "MalformedMessage", "Signer", "split_frames"]

DELIMITER = b"<IDS|MSG>"
PROTOCOL_VERSION = "5.4"


# A frame's bytes: a big content or buffer frame may stay a view of the received ZeroMQ frame.
Blob = bytes | memoryview


class MalformedMessage(ValueError):
    """Frames that are not a Jupyter message; the message says what is wrong."""


class Frames(NamedTuple):
    """One message's frames after the delimiter, header and parent parsed, the rest as bytes."""

    signature: bytes
    header: dict[str, Any]
    parent_header: dict[str, Any]
    header_bytes: bytes
    parent_bytes: bytes
    metadata_bytes: bytes
    content_bytes: Blob
    buffers: tuple[Blob, ...]
    size: int


def _parse_parent_header(data: bytes) -> dict[str, Any]:
    parent_header = _json_object(data, "parent_header") if data else {}
    if not isinstance(parent_header.get("msg_id"), str | None):
        raise MalformedMessage("parent_header's msg_id is not a string")
    return parent_header


# A flood's messages share their parent header, byte for byte: parse it once, and hold one
# copy of its bytes for all of them (a fifth of what a small message costs to keep). The dicts
# returned are shared between messages, so nothing may change them.
_PARENT_CACHED = 4096


@functools.lru_cache(maxsize=256)
def _parent_header(data: bytes) -> tuple[bytes, dict[str, Any]]:
    return data, _parse_parent_header(data)


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage(f"{name} is not valid UTF-8 JSON: {exc}") from None
    if value is None and name == "parent_header":
        return {}
    if not isinstance(value, dict):
        raise MalformedMessage(f"{name} is a JSON {type(value).__name__}, not an object")
    return value


# split_frames(frames) -> Frames: split raw frames at the delimiter, parse header and parent
# header. Raises MalformedMessage (no delimiter, too few frames, a header that is not a JSON
# object with a string msg_type and msg_id, a parent header that is not one). Compiled
# (_wire.c): it runs once per message, and in Python it cost a fifth of the capture's time.
_wire.configure(
    MalformedMessage,
    Frames,
    orjson.loads,
    _json_object,
    _parent_header,
    _PARENT_CACHED,
    _parse_parent_header,
)
split_frames = _wire.split

_OPENSSL_NAMES = {"blake2b": "blake2b512", "blake2s": "blake2s256"}


class Signer:
    """Checks and makes HMAC signatures with a connection file's key.

    The key is held here and nowhere else, and ``repr`` does not show it. (A replayed message,
    good signature and all, is caught by the log: its msg_id is one it already holds.)
    """

    __slots__ = ("_digest", "_key", "_mac", "_openssl_digest")

    def __init__(self, key: bytes, digest: str = "sha256") -> None:
        self._mac = hmac.new(key, digestmod=digest) if key else None
        self._key = key
        self._digest = digest
        # hashlib's name, as OpenSSL spells it; an empty batch checks OpenSSL knows it
        self._openssl_digest = _OPENSSL_NAMES.get(digest, digest.replace("_", "-"))
        _wire.check_all(key, self._openssl_digest, [])

    def __repr__(self) -> str:
        return f"Signer(digest={self._digest!r}, signed={self._mac is not None})"

    def sign(self, parts: tuple[bytes, ...] | list[bytes]) -> bytes:
        """The hex signature of ``parts`` (b"" when the key is empty)."""
        if self._mac is None:
            return b""
        mac = self._mac.copy()
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode()

    def check_all(self, batch: list[Frames]) -> bytes:
        """One byte per message of ``batch``: 1 where its signature is good (always, for an
        unsigned kernel), 0 where it is not.

        The hashing runs in C with the GIL released (``_wire.c``), so another thread
        can run Python meanwhile, and one batch costs a single call.
        """
        if self._mac is None:
            return b"\x01" * len(batch)
        return _wire.check_all(self._key, self._openssl_digest, batch)

    def request(
        self, msg_type: str, session: str, content: dict[str, Any] | None = None
    ) -> tuple[str, list[bytes]]:
        """A signed request: ``(msg_id, frames)`` ready for a DEALER socket."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "username": os.environ.get("USER", "jpf_widget"),
            "session": session,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": PROTOCOL_VERSION,
        }
        parts = (orjson.dumps(header), b"{}", b"{}", orjson.dumps(content or {}))
        return msg_id, [DELIMITER, self.sign(parts), *parts]
