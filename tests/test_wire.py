"""The wire format, checked against jupyter_client's own Session as the reference."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyter_client.session import Session

from jpf_widget import _wire
from jpf_widget.messages import make_message, new_record
from jpf_widget.wire import DELIMITER, MalformedMessage, Signer, split_frames

KEY = b"0123-key"


def serialized(session: Session, msg_type: str = "stream", **content: object) -> list[bytes]:
    message = session.msg(msg_type, content=content or {"name": "stdout", "text": "hi"})
    return [bytes(part) for part in session.serialize(message, ident=[b"topic"])]


def test_split_and_check_a_real_session_message() -> None:
    frames = split_frames(serialized(Session(key=KEY)))
    assert frames.header["msg_type"] == "stream"
    assert frames.parent_header == {}
    assert orjson.loads(frames.content_bytes) == {"name": "stdout", "text": "hi"}
    assert Signer(KEY).check_all([frames]) == b"\x01"


def test_wrong_key_is_refused() -> None:
    raw = serialized(Session(key=KEY))
    assert Signer(b"other").check_all([split_frames(raw)]) == b"\x00"


def test_tampered_content_fails_the_signature() -> None:
    raw = serialized(Session(key=KEY))
    index = raw.index(DELIMITER)
    raw[index + 5] = b'{"name": "stdout", "text": "evil"}'
    assert Signer(KEY).check_all([split_frames(raw)]) == b"\x00"


def test_empty_key_means_unsigned() -> None:
    raw = serialized(Session(key=b""))
    frames = split_frames(raw)
    assert frames.signature == b""
    assert Signer(b"").check_all([frames]) == b"\x01"


def test_our_requests_verify_with_jupyter_client() -> None:
    signer = Signer(KEY)
    msg_id, frames = signer.request("kernel_info_request", "our-session")
    session = Session(key=KEY)
    _, rest = session.feed_identities(frames)
    message = session.deserialize(rest)
    assert message["header"]["msg_id"] == msg_id
    assert message["header"]["msg_type"] == "kernel_info_request"
    assert "0123-key" not in repr(signer)


def test_buffers_and_size() -> None:
    session = Session(key=KEY)
    message = session.msg("comm_msg", content={"comm_id": "c", "data": {}})
    raw = [bytes(p) for p in session.serialize(message)] + [b"x" * 10, b"y" * 3]
    frames = split_frames(raw)
    assert frames.buffers == (b"x" * 10, b"y" * 3)
    assert frames.size == sum(len(p) for p in raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ([b"a", b"b"], "no <IDS|MSG> delimiter"),
        ([DELIMITER, b"sig", b"{}"], "frames after the delimiter"),
        ([DELIMITER, b"", b"{nope", b"{}", b"{}", b"{}"], "header is not valid"),
        ([DELIMITER, b"", b"[]", b"{}", b"{}", b"{}"], "header is a JSON list"),
        ([DELIMITER, b"", b'{"msg_id": "1"}', b"{}", b"{}", b"{}"], "no msg_type"),
        ([DELIMITER, b"", b'{"msg_type": "x"}', b"{}", b"{}", b"{}"], "no msg_id"),
        ([DELIMITER, b"", b'{"msg_id":"1","msg_type":"x"}', b"\xff", b"{}", b"{}"], "parent"),
    ],
)
def test_malformed_frames_say_what_is_wrong(raw: list[bytes], problem: str) -> None:
    with pytest.raises(MalformedMessage, match=problem):
        split_frames(raw)


def test_null_parent_header_is_empty() -> None:
    raw = [DELIMITER, b"", b'{"msg_id":"1","msg_type":"iopub_welcome"}', b"null", b"{}", b"{}"]
    assert split_frames(raw).parent_header == {}


def test_messages_of_one_request_share_one_copy_of_its_parent_header() -> None:
    session = Session(key=KEY)
    parent = session.msg_header("execute_request")
    first, second = (
        split_frames(
            [bytes(p) for p in session.serialize(session.msg("stream", {}, parent=parent))]
        )
        for _ in range(2)
    )
    assert first.parent_bytes == second.parent_bytes
    assert first.parent_bytes is second.parent_bytes
    assert first.parent_header["msg_id"] == parent["msg_id"]


def test_big_parts_may_arrive_as_views_of_the_received_frames() -> None:
    # capture keeps parts of 256 KB or more as memoryviews of ZeroMQ's frames, not copies
    session = Session(key=KEY)
    message = session.msg("comm_msg", content={"comm_id": "C1", "data": {"pad": "x" * 300_000}})
    message["metadata"] = {"big": "m" * 300_000}
    raw: list[bytes | memoryview] = [
        bytes(part) for part in session.serialize(message, ident=[b"topic"])
    ]
    raw = [memoryview(part) if len(part) >= 1 << 18 else part for part in raw]
    raw.append(memoryview(b"\x01" * 300_000))
    assert isinstance(raw[5], memoryview)  # metadata
    assert isinstance(raw[6], memoryview)  # content
    frames = split_frames(raw)
    assert Signer(KEY).check_all([frames]) == b"\x01"
    assert type(frames.metadata_bytes) is bytes
    assert frames.size == sum(len(part) for part in raw)
    received = make_message(new_record(0, "iopub", 0.0, frames))
    assert received.comm_id == "C1"
    assert received.content["data"]["pad"] == "x" * 300_000
    assert received.content_text.startswith('{"comm_id":"C1"')
    assert received.metadata == {"big": "m" * 300_000}
    assert received.buffers == (b"\x01" * 300_000,)


@settings(max_examples=60, deadline=None)
@given(
    scheme=st.sampled_from(
        ["hmac-sha256", "hmac-sha512", "hmac-md5", "hmac-sha3_256", "hmac-blake2b"]
    ),
    key=st.binary(min_size=1, max_size=200),
    text=st.text(max_size=3000),
    metadata=st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
def test_compiled_check_agrees_with_jupyter_client(
    scheme: str, key: bytes, text: str, metadata: dict[str, int]
) -> None:
    # the C checker against Session's own signatures, with digests named as hashlib names them
    session = Session(key=key, signature_scheme=scheme)
    message = session.msg("stream", content={"name": "stdout", "text": text})
    message["metadata"] = metadata
    frames = split_frames([bytes(p) for p in session.serialize(message)])
    digest = scheme.removeprefix("hmac-")
    assert Signer(key, digest).check_all([frames, frames]) == b"\x01\x01"
    assert Signer(key + b"!", digest).check_all([frames]) == b"\x00"


def test_compiled_check_flags_each_bad_message_of_a_batch() -> None:
    session = Session(key=KEY)
    good = split_frames(serialized(session))
    tampered = good._replace(content_bytes=b'{"name": "stdout", "text": "evil"}')
    batch = [
        good,
        tampered,
        good._replace(signature=good.signature.upper()),  # hex is compared as sent
        good._replace(signature=good.signature[:-2]),
        good._replace(signature=b""),
        good._replace(content_bytes=memoryview(good.content_bytes)),  # a view checks the same
    ]
    assert Signer(KEY).check_all(batch) == bytes([1, 0, 0, 0, 0, 1])
    assert Signer(KEY).check_all([]) == b""
    assert Signer(b"").check_all(batch) == b"\x01" * len(batch)  # unsigned: all good


def test_compiled_check_refuses_what_it_cannot_check() -> None:
    frames = split_frames(serialized(Session(key=KEY)))
    with pytest.raises(ValueError, match="OpenSSL has no digest 'sha999'"):
        _wire.check_all(KEY, "sha999", [frames])
    with pytest.raises(TypeError, match=r"batch\[1\] is a str, not a wire.Frames"):
        Signer(KEY).check_all([frames, "frames"])  # type: ignore[list-item]
