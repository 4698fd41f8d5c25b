"""Reading and writing a trace's message line in one pass (``_trace.c``) against doing it the
general way.

The one-pass reader either gives the message the general way (orjson, then ``trace._message``)
gives for the same line, or None (the line is read the general way). It must never accept a
line orjson refuses, nor read a line to a different message. The one-pass writer either writes
the very bytes the general way (``trace._general_line``) writes for the same record, or None
(the record is written the general way); it must never write a line that is not JSON.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from jpf_widget import _trace
from jpf_widget.messages import Record, new_record
from jpf_widget.trace import RecordedMessage, _Clock, _general_line, _message, message_line
from jpf_widget.wire import DELIMITER, split_frames

HEADER = {
    "msg_id": "m-1",
    "msg_type": "comm_msg",
    "session": "s",
    "username": "u",
    "date": "2026-12-05T12:00:00.000000Z",
    "version": "5.4",
}
PARENT = {"msg_id": "p-1", "msg_type": "execute_request", "session": "c", "version": "5.4"}


def written_line(**changes: Any) -> bytes:
    """A line as the writer writes it."""
    content = orjson.dumps({"comm_id": "c0ffee", "data": {"é": '\u2603 \\ " \n', "n": 1.5e3}})
    frames = split_frames(
        [
            DELIMITER,
            b"",
            orjson.dumps(HEADER),
            orjson.dumps(PARENT),
            b'{"m":[]}',
            content,
            b"\x00\xff",
        ]
    )
    record = new_record(7, "shell", 1_796_472_100.125, frames, direction="to_kernel", client="ab12")
    line = message_line(record, own=True)
    if changes:
        line = orjson.dumps(orjson.loads(line) | changes) + b"\n"
    return line


def general(line: bytes) -> RecordedMessage | None:
    """The general way: orjson, then trace._message; None when the line is malformed."""
    try:
        value = orjson.loads(line)
        if type(value) is not dict or value.get("type") != "message":
            return None
        return _message(value)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def same(one: RecordedMessage, other: RecordedMessage) -> None:
    assert one[:5] == other[:5]
    a, b = one.frames, other.frames
    assert (a.signature, a.header, a.parent_header, a.buffers, a.size) == (
        b.signature,
        b.header,
        b.parent_header,
        b.buffers,
        b.size,
    )
    for part in ("header_bytes", "parent_bytes", "metadata_bytes", "content_bytes"):
        assert orjson.loads(getattr(a, part)) == orjson.loads(getattr(b, part)), part


def test_a_written_line_is_read_in_one_pass_to_the_message_the_general_way_gives() -> None:
    line = written_line()
    fast = _trace.message(line)
    assert fast is not None
    slow = general(line)
    assert slow is not None
    same(fast, slow)
    assert fast.channel == "shell"
    assert fast.direction == "to_kernel"
    assert fast.client == "ab12"
    assert fast.own is True
    assert fast.received == 1_796_472_100.125
    assert fast.frames.buffers == (b"\x00\xff",)
    assert fast.frames.header == HEADER
    assert fast.frames.parent_header == PARENT
    # the frames are cut from the line as written, not encoded again
    assert fast.frames.content_bytes in line
    assert fast.frames.header_bytes in line


@pytest.mark.parametrize(
    "line",
    [
        written_line(direction=None, client=None, own=False),
        written_line(parent_header=None, buffers=None, size=None),
        written_line(parent_header={}, buffers=[], metadata=None, content=[1, "two"]),
        written_line(t=1_796_472_100, size=-1),
        written_line(extra={"nested": [[[{"a": None}]]]}, received="whenever"),
        b' \t{"t": 1.5e2 , "content" : {}, "metadata":{} ,"parent_header":{},'
        b'"header":{"msg_id":"x","msg_type":"y"},"channel":"iopub","type":"message"}\r\n',
        written_line(channel="\u00e9t\u00e9"),
    ],
)
def test_unusual_but_good_lines_read_the_same_either_way(line: bytes) -> None:
    fast = _trace.message(line)
    slow = general(line)
    assert fast is not None
    assert slow is not None
    same(fast, slow)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"\n",
        b"not json\n",
        b"[1, 2]\n",
        written_line()[:-10],  # cut short
        written_line().replace(b'"type":"message"', b'"type":"marker"'),
        written_line(channel=None),
        written_line(channel=5),
        written_line(t="yesterday"),
        written_line(t=True),
        written_line(header={"msg_type": "stream"}),
        written_line(header={"msg_id": 1, "msg_type": "stream"}),
        written_line(header=[1]),
        written_line(parent_header={"msg_id": 5}),
        written_line(parent_header="p"),
        written_line(buffers=["not base64!"]),
        written_line(buffers=[1]),
        written_line(direction=7),
        written_line() + b"{}",  # two values on a line
        written_line().replace(b'"size":', b'"size":1e999,"x":'),  # infinity: orjson refuses
        written_line().replace(b'"ab12"', b'"\xed\xa0\x80"'),  # a surrogate in UTF-8
        written_line().replace(b'"ab12"', b'"\\ud800"'),  # a lone surrogate
        written_line().replace(b'"ab12"', b'"\xc0\xaf"'),  # an overlong form
        written_line().replace(b'"ab12"', b'"a\tb"'),  # a raw control character
        written_line().replace(b'"ab12"', b'"\\x41"'),  # no such escape
        written_line().replace(b"}\n", b",}\n"),  # a trailing comma
        b"\xef\xbb\xbf" + written_line(),  # a byte order mark
    ],
)
def test_damaged_lines_are_left_to_the_general_way_which_refuses_them(line: bytes) -> None:
    assert _trace.message(line) is None
    assert general(line) is None


@pytest.mark.parametrize(
    "line",
    [
        written_line().replace(b'"channel"', b'"ch\\u0061nnel"'),  # an escaped key
        written_line().replace(b'{"type":"message",', b'{"type":"message","t":0,'),  # a key twice
        written_line(size=2.5),
        written_line().replace(b'"size":', b'"size":1000000000000000000000000,"x":'),
        written_line(client="a\\b"),
        written_line(buffers={}),
        written_line(direction=False),
        written_line().replace(b'"size":', b'"deep":' + b"[" * 300 + b"]" * 300 + b',"size":'),
    ],
)
def test_lines_it_is_unsure_of_are_left_to_the_general_way(line: bytes) -> None:
    """Each of these is read the general way (to a message or refused); never differently."""
    fast = _trace.message(line)
    slow = general(line)
    if fast is not None:
        assert slow is not None
        same(fast, slow)


def damaged(rng: random.Random, good: bytes, specials: bytes) -> bytes:
    """``good`` with one to three bytes changed (to one of ``specials``), dropped or doubled,
    or cut short."""
    data = bytearray(good)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data))
        action = rng.randrange(4)
        if action == 0:
            data[at] = rng.choice(specials)
        elif action == 1:
            del data[at]
        elif action == 2:
            data.insert(at, data[at])
        else:
            del data[at:]
            break
    return bytes(data)


def test_no_damage_is_read_as_a_message_the_general_way_would_not_give() -> None:
    """Thousands of lines damaged at random: a byte changed, dropped or doubled, the line
    cut. Whatever the one-pass reader reads, the general way reads to the same message."""
    rng = random.Random(20261205)
    good = written_line()
    specials = b'{}[]",:\\0123456789.eE+-tfnul \n\x00\x80\xc3\xa9\xed\xff'
    read = refused = 0
    for _ in range(30_000):
        data = damaged(rng, good, specials)
        fast = _trace.message(data)
        if fast is None:
            refused += 1
            continue
        read += 1
        slow = general(data)
        assert slow is not None, data
        same(fast, slow)
    # both outcomes happened: the damage was not all harmless, nor all fatal
    assert read > 1_000
    assert refused > 1_000


# -- writing ---------------------------------------------------------------------------------


def record_of(
    content: bytes | memoryview = b'{"comm_id":"c0ffee","data":{"n":1}}',
    *,
    metadata: bytes = b"{}",
    buffers: tuple[bytes | memoryview, ...] = (),
    client: str = "ab12",
    received: float = 1_796_472_100.125,
    header: bytes | None = None,
) -> Record:
    frames = split_frames(
        [DELIMITER, b"", header or orjson.dumps(HEADER), orjson.dumps(PARENT), metadata, b"{}"]
    )
    record = new_record(3, "iopub", received, frames, client=client)
    return (*record[:11], metadata, content, buffers, *record[14:])  # type: ignore[return-value]


def both_ways(record: Record, own: bool = False, numbered: bool = True) -> tuple[Any, bytes]:
    clock = _Clock(1_796_472_000.0)
    received = record[2]
    fast = _trace.line(record, clock.iso(received), clock.ns(received), own, numbered)
    return fast, _general_line(record, clock, own, numbered)


@pytest.mark.parametrize(
    "record",
    [
        record_of(),
        record_of(b"[1, 2.5e3, null]", metadata=b'{"a": {"b": [true, false]}}'),
        record_of(b'"just a string"', client=""),
        record_of(b"{}", received=1_796_472_100.0),
        record_of(memoryview(b'{"comm_id":"x","data":{"\\u00e9t\\u00e9":"\\u2603"}}')),
        record_of(b' {"spaced" : 1} '),
        record_of('{"text":"caf\u00e9 ☃ 😀"}'.encode()),
        record_of(buffers=(b"",)),
        record_of(buffers=(b"\x00", b"\x00\xff", b"\x01\x02\x03", bytes(range(256)) * 3)),
        record_of(buffers=(memoryview(b"abcdefg"),)),
        record_of(buffers=(b"x",) * 16),
    ],
)
@pytest.mark.parametrize(("own", "numbered"), [(False, True), (True, False)])
def test_a_record_is_written_in_one_pass_to_the_bytes_the_general_way_writes(
    record: Record, own: bool, numbered: bool
) -> None:
    fast, slow = both_ways(record, own, numbered)
    assert fast is not None
    assert fast == slow
    value = orjson.loads(fast)
    assert value["own"] if own else "own" not in value
    assert ("seq" in value) == numbered


def test_times_and_numbers_are_written_as_the_general_way_writes_them_in_any_order() -> None:
    """The one-pass writer keeps the text of the last receive time for the next line (a
    batch shares one): a time repeated, changed, or come back to is written exactly."""
    frames = record_of()[9:13]  # header, parent, metadata, content
    times = [1_796_472_100.125, 1_796_472_100.125, 0.1 + 0.2, 1_796_472_100.125, 5e-324]
    times += [1_000.5, 1_796_472_100.000_001, 4e9, 123_456_789.0, 123_456_789.0]
    seqs = [0, 9, 10, 99, 2**62, 2**63 - 1, 7, 100, 1_000_000, 1]
    for seq, received in zip(seqs, times, strict=True):
        record = new_record(seq, "iopub", received, split_frames([DELIMITER, b"", *frames]))
        fast, slow = both_ways(record)  # a time before the clock's origin: a negative ns
        assert fast == slow, (seq, received)
        value = orjson.loads(fast)
        assert (value["seq"], value["t"]) == (seq, received)


@pytest.mark.parametrize(
    "record",
    [
        record_of(b'{\n  "pretty": true\n}'),  # a newline: encoded again on one line
        record_of(b"not json"),  # kept as a string in an object
        record_of(b'{"cut": '),
        record_of(b'{"a": 1} {"b": 2}'),
        record_of(metadata=b"{'single': 'quotes'}"),
        record_of(b'{"big": 1e999}'),  # orjson refuses infinity
        record_of(b'{"deep": ' + b"[" * 300 + b"]" * 300 + b"}"),
        record_of(client='a"b'),
        record_of(client="caf\u00e9"),
        record_of(buffers=(b"x",) * 17),
        record_of(header=b'{"msg_id":"m-1",\n"msg_type":"stream"}'),
    ],
)
def test_records_it_is_unsure_of_are_written_the_general_way(record: Record) -> None:
    fast, slow = both_ways(record)
    assert fast is None
    assert orjson.loads(slow)["type"] == "message"
    assert message_line(record) == _general_line(record, _Clock(record[2]), False, True)


def test_no_content_is_written_as_a_line_that_is_not_json() -> None:
    """Thousands of contents damaged at random: whatever the one-pass writer writes is the
    general way's line, and JSON."""
    rng = random.Random(20261206)
    good = orjson.dumps({"comm_id": "c0ffee", "data": {"é": '\u2603 \\ " \t', "n": [1.5e3, None]}})
    specials = b'{}[]",:\\0123456789.eE+-tfnul \t\x00\x80\xc3\xa9\xed\xff'
    written = unsure = 0
    for _ in range(20_000):
        content = damaged(rng, good, specials)
        fast, slow = both_ways(record_of(content))
        if fast is None:
            unsure += 1
            continue
        written += 1
        assert fast == slow, content
        assert orjson.loads(fast)["content"] == orjson.loads(content or b"{}")
    assert written > 1_000
    assert unsure > 1_000
