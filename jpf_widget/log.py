"""The message log: every captured message in arrival order, bounded by a byte budget.

Capture appends; everyone else reads. The log gives each entry a ``seq`` (contiguous, so a
lookup by seq is an index), keeps indexes by msg_id, parent msg_id, comm_id and msg_type, and
evicts the oldest entries when the budget is spent, counting what it evicts. It also keeps the
counters that the monitor shows: captured, by type, by channel, evicted, lost, bad signature,
malformed.

What the log holds is kept out of the garbage collector's way (a monitor runs inside the
user's kernel, and every full collection stops all its threads): messages are plain tuples,
which the collector stops tracking, and the indexes hold seqs in C arrays and plain dicts, so
a full collection walks one list of the held entries instead of five containers of them.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .messages import (
    FROM_KERNEL,
    MSG_TYPE,
    SEQ,
    Marker,
    Message,
    MessageList,
    Record,
    make_message,
    new_record,
)
from .wire import Frames

__all__ = ["DEFAULT_BUDGET", "Entry", "Held", "MessageLog", "entry_of", "seq_of"]

DEFAULT_BUDGET = 256 * 1024 * 1024
# What one entry costs beyond its wire bytes: the record, its short strings, index slots.
ENTRY_OVERHEAD = 480

Entry = Message | Marker
Held = Record | Marker  # what the log holds: messages as records, made into Messages on reading


class _SeqIndex:
    """The seqs of the held messages under each key (a parent msg_id, a comm_id, a msg_type),
    oldest first, in arrays of C integers: nothing in it for the garbage collector to walk.
    ``MessageLog.add_many`` appends to ``_seqs`` itself (the hot path)."""

    __slots__ = ("_seqs", "_starts")

    def __init__(self) -> None:
        self._seqs: dict[str, array[int]] = {}
        self._starts: dict[str, int] = {}  # how many of a key's first seqs are evicted

    def drop_oldest(self, key: str) -> None:
        """Forget the key's oldest seq (the log evicts in arrival order)."""
        start = self._starts.get(key, 0) + 1
        seqs = self._seqs[key]
        if start >= len(seqs):
            del self._seqs[key]
            self._starts.pop(key, None)
            return
        if start >= 1024 and 2 * start >= len(seqs):  # cut the evicted front now and then
            del seqs[:start]
            start = 0
        self._starts[key] = start

    def seqs(self, key: str, limit: int | None) -> list[int]:
        """The key's seqs, oldest first: the newest ``limit`` of them."""
        seqs = self._seqs.get(key)
        if seqs is None:
            return []
        start = self._starts.get(key, 0)
        if limit is not None:
            start = max(start, len(seqs) - limit)
        return seqs[start:].tolist()


class MessageLog:
    """A bounded, indexed, thread-safe record of captured messages and markers."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        if budget <= 0:
            raise ValueError(f"budget must be a positive number of bytes, not {budget!r}")
        self.budget = budget
        self._lock = threading.Condition()
        # held entries are _entries[_head:], with contiguous seqs: a seq's place is arithmetic
        self._entries: list[Held | None] = []
        self._head = 0
        self._next_seq = 0
        self._bytes = 0
        self._by_id: dict[str, int] = {}  # msg_id -> seq
        self._by_parent = _SeqIndex()
        self._by_comm = _SeqIndex()
        self._by_type = _SeqIndex()
        self._type_counts: Counter[str] = Counter()
        self._channel_counts: Counter[str] = Counter()
        self._problems: Counter[str] = Counter()
        self._captured = 0
        self._evicted = 0
        self._evicted_bytes = 0

    # -- writing (the capture thread) -------------------------------------------------------

    def add(self, channel: str, frames: Frames, received: float | None = None) -> Message | None:
        """Record one message that passed its signature check; returns its record (None for a
        replay: a msg_id the log already holds, counted as a bad signature)."""
        added = self.add_many(channel, [frames], received)
        return make_message(added[0]) if added else None

    def add_many(
        self,
        channel: str,
        batch: list[Frames],
        received: float | Sequence[float] | None = None,
        direction: str = FROM_KERNEL,
        client: str = "",
    ) -> list[Record]:
        """Record messages that passed their signature check, in order, under one lock; returns
        their records (:func:`make_message` makes one a :class:`Message`). All of ``batch``
        went one ``direction`` on ``channel``, to or from one ``client`` (when known).
        ``received`` is when they arrived (default now), or one time per message (a replay).

        This is the hot path of capture (tens of thousands of messages a second): locals
        instead of attribute lookups, counters and eviction once per batch.
        """
        times: Sequence[float] | None = None
        if isinstance(received, Sequence):
            times, when = received, 0.0
        else:
            when = time.time() if received is None else received
        added: list[Record] = []
        append = added.append
        with self._lock:
            # the indexes' arrays, reached directly: a method call per index per message
            # cost a tenth of this whole path
            by_id, by_parent, by_comm, by_type = (
                self._by_id,
                self._by_parent._seqs,
                self._by_comm._seqs,
                self._by_type._seqs,
            )
            entries, type_counts = self._entries, self._type_counts
            seq, cost = self._next_seq, 0
            for place, frames in enumerate(batch):
                if times is not None:
                    when = times[place]
                record = new_record(seq, channel, when, frames, direction=direction, client=client)
                _, _, _, msg_id, msg_type, _, parent_id, _, comm_id, *_, size = record
                if msg_id in by_id:
                    self._problems["bad_signature"] += 1
                    self._problems["replayed"] += 1
                    continue
                entries.append(record)
                cost += size + ENTRY_OVERHEAD
                by_id[msg_id] = record[SEQ]  # the record's own int: no new object to hold
                type_counts[msg_type] += 1
                seqs = by_type.get(msg_type)
                if seqs is None:
                    seqs = by_type[msg_type] = array("q")
                seqs.append(seq)
                if parent_id:
                    seqs = by_parent.get(parent_id)
                    if seqs is None:
                        seqs = by_parent[parent_id] = array("q")
                    seqs.append(seq)
                if comm_id:
                    seqs = by_comm.get(comm_id)
                    if seqs is None:
                        seqs = by_comm[comm_id] = array("q")
                    seqs.append(seq)
                append(record)
                seq += 1
            self._next_seq = seq
            self._bytes += cost
            self._captured += len(added)
            self._channel_counts[channel] += len(added)
            while self._bytes > self.budget and len(entries) - self._head > 1:
                self._evict_oldest()
            self._lock.notify_all()
        return added

    def add_marker(self, kind: str, text: str, received: float | None = None) -> Marker:
        """Record something the monitor noticed (``attached``, ``restart``, ``dead``, ...),
        now or at the time ``received`` (a replay)."""
        with self._lock:
            when = time.time() if received is None else received
            marker = Marker(self._next_seq, when, kind, text)
            self._append(marker, ENTRY_OVERHEAD)
            self._lock.notify_all()
            return marker

    def count_problem(self, kind: str, n: int = 1) -> None:
        """Count ``bad_signature``, ``malformed`` or ``lost`` messages (not kept in the log)."""
        with self._lock:
            self._problems[kind] += n

    def set_problem(self, kind: str, n: int) -> None:
        """Set a problem counter outright (loss is recomputed as evidence comes in)."""
        with self._lock:
            self._problems[kind] = n

    def _append(self, entry: Held, cost: int) -> None:
        self._next_seq += 1
        self._entries.append(entry)
        self._bytes += cost
        while self._bytes > self.budget and len(self._entries) - self._head > 1:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        entries, head = self._entries, self._head
        entry = entries[head]
        entries[head] = None
        head += 1
        if head >= 4096 and 2 * head >= len(entries):  # cut the evicted front now and then
            del entries[:head]
            head = 0
        self._head = head
        assert entry is not None  # held entries are never None
        if isinstance(entry, Marker):
            self._bytes -= ENTRY_OVERHEAD
            return
        seq, _, _, msg_id, msg_type, _, parent_id, _, comm_id, *_, size = entry
        self._bytes -= size + ENTRY_OVERHEAD
        self._evicted += 1
        self._evicted_bytes += size
        if self._by_id.get(msg_id) == seq:
            del self._by_id[msg_id]
        self._by_type.drop_oldest(msg_type)
        if parent_id:
            self._by_parent.drop_oldest(parent_id)
        if comm_id:
            self._by_comm.drop_oldest(comm_id)

    def _place(self, seq: int) -> int:
        """Where the entry with this seq is, or would be, in ``_entries``; under the lock. (Held
        seqs are contiguous and end at ``_next_seq - 1``.)"""
        return len(self._entries) - self._next_seq + seq

    def _at(self, seq: int) -> Held | None:
        """The held entry with this seq (None if evicted or not yet recorded); under the lock."""
        place = self._place(seq)
        return self._entries[place] if self._head <= place < len(self._entries) else None

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries) - self._head

    @property
    def last_seq(self) -> int:
        """The seq of the newest entry (-1 when nothing was ever recorded)."""
        with self._lock:
            return self._next_seq - 1

    def messages(self) -> MessageList:
        """Every message still held, in arrival order (markers left out)."""
        with self._lock:
            held = self._entries[self._head :]
        return MessageList([e for e in held if e is not None and not isinstance(e, Marker)])

    def entries_after(
        self, seq: int, limit: int | None = None, *, oldest: bool = False
    ) -> list[Entry]:
        """Messages and markers with a seq above ``seq``, in order: at most ``limit`` of them,
        the newest (or with ``oldest``, the first that follow ``seq``)."""
        return [entry_of(held) for held in self._held_after(seq, limit, oldest)]

    def held_after(self, seq: int, limit: int | None = None) -> list[Held]:
        """As :meth:`entries_after` with ``oldest``, but messages as the log's records: for a
        reader of every message that needs no :class:`Message` of each (a trace writer)."""
        return self._held_after(seq, limit, oldest=True)

    def _held_after(self, seq: int, limit: int | None = None, oldest: bool = False) -> list[Held]:
        with self._lock:
            entries = self._entries
            start, stop = max(self._place(seq + 1), self._head), len(entries)
            if limit is not None:
                if oldest:
                    stop = min(stop, start + limit)
                else:
                    start = max(start, stop - limit)
            return entries[start:stop]  # type: ignore[return-value]  # held: never None

    def entries_before(self, seq: int, limit: int) -> list[Entry]:
        """The (at most ``limit``) held messages and markers just below ``seq``, in order."""
        with self._lock:
            stop = min(max(self._place(seq), self._head), len(self._entries))
            held: list[Held] = self._entries[max(self._head, stop - limit) : stop]  # type: ignore[assignment]  # held: never None
        return [entry_of(h) for h in held]

    def search_before(
        self,
        before: int,
        keep: Callable[[Entry], bool],
        *,
        above: int = -1,
        limit: int = 500,
        seconds: float = 0.05,
        chunk: int = 2000,
    ) -> tuple[list[Entry], int, bool]:
        """The newest (at most ``limit``) entries with a seq below ``before`` and above
        ``above`` for which ``keep`` is true, searching newest first for at most ``seconds``
        (``chunk`` entries under the lock at a time, so capture is never held up for long).

        Returns ``(found, next, done)``: what was found, in order; the seq where the search
        stopped (search again below it); whether nothing older is left to search.
        """
        found: list[Entry] = []
        cursor, done = before, False
        deadline = time.monotonic() + seconds
        while len(found) < limit and not done and time.monotonic() < deadline:
            entries = self.entries_before(cursor, chunk)
            done = len(entries) < chunk
            for entry in reversed(entries):
                if entry.seq <= above:
                    done = True
                    break
                cursor = entry.seq
                if keep(entry):
                    found.append(entry)
                    if len(found) == limit:
                        break
        done = done and len(found) < limit  # a full page may stop short of the start
        found.reverse()
        return found, cursor, done

    def by_seq(self, seqs: Iterable[int]) -> list[Entry]:
        """The entries with these seqs that are still held."""
        with self._lock:
            found = [self._at(seq) for seq in seqs]
        return [entry_of(held) for held in found if held is not None]

    def get(self, msg_id: str) -> Message | None:
        with self._lock:
            seq = self._by_id.get(msg_id)
            held = None if seq is None else self._at(seq)
        return None if held is None or isinstance(held, Marker) else make_message(held)

    def thread(self, parent_id: str, limit: int | None = None) -> list[Message]:
        """The messages whose parent is ``parent_id``, in arrival order (the newest ``limit``)."""
        return self._indexed(self._by_parent, parent_id, limit)

    def comm(self, comm_id: str) -> list[Message]:
        """The comm_open / comm_msg / comm_close messages of one comm, in arrival order."""
        return self._indexed(self._by_comm, comm_id, None)

    def of_type(self, msg_type: str) -> list[Message]:
        return self._indexed(self._by_type, msg_type, None)

    def _indexed(self, index: _SeqIndex, key: str, limit: int | None) -> list[Message]:
        with self._lock:
            found = [self._at(seq) for seq in index.seqs(key, limit)]
        return [
            make_message(held)
            for held in found
            if held is not None and not isinstance(held, Marker)
        ]

    def stats(self) -> dict[str, Any]:
        """The counters, as plain data."""
        with self._lock:
            return {
                "captured": self._captured,
                "held": len(self._entries) - self._head,
                "held_bytes": self._bytes,
                "budget": self.budget,
                "evicted": self._evicted,
                "evicted_bytes": self._evicted_bytes,
                "lost": self._problems["lost"],
                "bad_signature": self._problems["bad_signature"],
                "malformed": self._problems["malformed"],
                "replayed": self._problems["replayed"],
                "own_view_traffic": self._problems["own_view_traffic"],
                "tap_dropped_frames": self._problems["tap_dropped_frames"],
                "by_type": dict(self._type_counts),
                "by_channel": dict(self._channel_counts),
            }

    def wait_for(
        self,
        match: Callable[[Message], bool],
        timeout: float,
        after: int = -1,
        msg_type: str | None = None,
    ) -> Message | None:
        """The first message with a seq above ``after`` (and of type ``msg_type``, when given)
        for which ``match`` is true, waiting up to ``timeout`` seconds for it to arrive; None
        if it does not. Only messages of the type are made into Messages for ``match``."""
        deadline = time.monotonic() + timeout
        cursor = after
        with self._lock:
            while True:
                for held in self._held_after(cursor):
                    if isinstance(held, Marker):
                        cursor = held.seq
                        continue
                    cursor = held[SEQ]
                    if msg_type is None or held[MSG_TYPE] == msg_type:
                        message = make_message(held)
                        if match(message):
                            return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)


def entry_of(held: Held) -> Entry:
    """A held entry as readers see it: a marker, or the message made from its record."""
    return held if isinstance(held, Marker) else make_message(held)


def seq_of(held: Held) -> int:
    return held.seq if isinstance(held, Marker) else held[SEQ]
