"""The message log: every captured message in arrival order, bounded by a byte budget.

Capture appends; everyone else reads. The log gives each entry a ``seq`` (contiguous, so a
lookup by seq is an index), keeps indexes by msg_id, parent msg_id, comm_id and msg_type, and
evicts the oldest entries when the budget is spent, counting what it evicts. It also keeps the
counters that the monitor shows: captured, by type, by channel, evicted, lost, bad signature,
malformed.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any

from .messages import Marker, Message, Record, make_message, new_record
from .wire import Frames

__all__ = ["DEFAULT_BUDGET", "Entry", "MessageLog"]

DEFAULT_BUDGET = 256 * 1024 * 1024
# What one entry costs beyond its wire bytes: the record, its short strings, index slots.
ENTRY_OVERHEAD = 480

Entry = Message | Marker
_Held = Record | Marker  # what the log holds: messages as records, made into Messages on reading


class MessageLog:
    """A bounded, indexed, thread-safe record of captured messages and markers."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        if budget <= 0:
            raise ValueError(f"budget must be a positive number of bytes, not {budget!r}")
        self.budget = budget
        self._lock = threading.Condition()
        self._entries: deque[_Held] = deque()
        self._next_seq = 0
        self._bytes = 0
        self._by_id: dict[str, Record] = {}
        self._by_parent: dict[str, deque[Record]] = {}
        self._by_comm: dict[str, deque[Record]] = {}
        self._by_type: dict[str, deque[Record]] = {}
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
        self, channel: str, batch: list[Frames], received: float | None = None
    ) -> list[Record]:
        """Record messages that passed their signature check, in order, under one lock; returns
        their records (:func:`make_message` makes one a :class:`Message`).

        This is the hot path of capture (tens of thousands of messages a second): locals
        instead of attribute lookups, counters and eviction once per batch.
        """
        when = time.time() if received is None else received
        added: list[Record] = []
        append = added.append
        with self._lock:
            by_id, by_parent, by_comm, by_type = (
                self._by_id,
                self._by_parent,
                self._by_comm,
                self._by_type,
            )
            entries, type_counts = self._entries, self._type_counts
            seq, cost = self._next_seq, 0
            for frames in batch:
                record = new_record(seq, channel, when, frames)
                _, _, _, msg_id, msg_type, _, parent_id, _, comm_id, *_, size = record
                if msg_id in by_id:
                    self._problems["bad_signature"] += 1
                    self._problems["replayed"] += 1
                    continue
                seq += 1
                entries.append(record)
                cost += size + ENTRY_OVERHEAD
                by_id[msg_id] = record
                type_counts[msg_type] += 1
                bucket = by_type.get(msg_type)
                if bucket is None:
                    bucket = by_type[msg_type] = deque()
                bucket.append(record)
                if parent_id:
                    bucket = by_parent.get(parent_id)
                    if bucket is None:
                        bucket = by_parent[parent_id] = deque()
                    bucket.append(record)
                if comm_id:
                    bucket = by_comm.get(comm_id)
                    if bucket is None:
                        bucket = by_comm[comm_id] = deque()
                    bucket.append(record)
                append(record)
            self._next_seq = seq
            self._bytes += cost
            self._captured += len(added)
            self._channel_counts[channel] += len(added)
            while self._bytes > self.budget and len(entries) > 1:
                self._evict_oldest()
            self._lock.notify_all()
        return added

    def add_marker(self, kind: str, text: str) -> Marker:
        """Record something the monitor noticed (``attached``, ``restart``, ``dead``, ...)."""
        with self._lock:
            marker = Marker(self._next_seq, time.time(), kind, text)
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

    def _append(self, entry: _Held, cost: int) -> None:
        self._next_seq += 1
        self._entries.append(entry)
        self._bytes += cost
        while self._bytes > self.budget and len(self._entries) > 1:
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        entry = self._entries.popleft()
        if isinstance(entry, Marker):
            self._bytes -= ENTRY_OVERHEAD
            return
        _, _, _, msg_id, msg_type, _, parent_id, _, comm_id, *_, size = entry
        self._bytes -= size + ENTRY_OVERHEAD
        self._evicted += 1
        self._evicted_bytes += size
        if self._by_id.get(msg_id) is entry:
            del self._by_id[msg_id]
        for index, key in (
            (self._by_parent, parent_id),
            (self._by_comm, comm_id),
            (self._by_type, msg_type),
        ):
            if key:
                bucket = index[key]
                bucket.popleft()  # evictions go in arrival order, so it is the bucket's first
                if not bucket:
                    del index[key]

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def last_seq(self) -> int:
        """The seq of the newest entry (-1 when nothing was ever recorded)."""
        with self._lock:
            return self._next_seq - 1

    def messages(self) -> list[Message]:
        """Every message still held, in arrival order (markers left out)."""
        with self._lock:
            return [make_message(e) for e in self._entries if not isinstance(e, Marker)]

    def entries_after(
        self, seq: int, limit: int | None = None, *, oldest: bool = False
    ) -> list[Entry]:
        """Messages and markers with a seq above ``seq``, in order: at most ``limit`` of them,
        the newest (or with ``oldest``, the first that follow ``seq``)."""
        with self._lock:
            entries = self._entries
            if not entries:
                return []
            start = max(seq + 1 - _seq_of(entries[0]), 0)
            stop = len(entries)
            if limit is not None:
                if oldest:
                    stop = min(stop, start + limit)
                else:
                    start = max(start, stop - limit)
            return [_entry(entries[i]) for i in range(start, stop)]

    def by_seq(self, seqs: Iterable[int]) -> list[Entry]:
        """The entries with these seqs that are still held."""
        with self._lock:
            entries = self._entries
            if not entries:
                return []
            first, count = _seq_of(entries[0]), len(entries)
            return [_entry(entries[s - first]) for s in seqs if 0 <= s - first < count]

    def get(self, msg_id: str) -> Message | None:
        with self._lock:
            record = self._by_id.get(msg_id)
        return None if record is None else make_message(record)

    def thread(self, parent_id: str, limit: int | None = None) -> list[Message]:
        """The messages whose parent is ``parent_id``, in arrival order (the newest ``limit``)."""
        return self._indexed(self._by_parent, parent_id, limit)

    def comm(self, comm_id: str) -> list[Message]:
        """The comm_open / comm_msg / comm_close messages of one comm, in arrival order."""
        return self._indexed(self._by_comm, comm_id, None)

    def of_type(self, msg_type: str) -> list[Message]:
        return self._indexed(self._by_type, msg_type, None)

    def _indexed(
        self, index: dict[str, deque[Record]], key: str, limit: int | None
    ) -> list[Message]:
        with self._lock:
            bucket = index.get(key, ())
            if limit is None or limit >= len(bucket):
                records = list(bucket)
            else:  # from the right end of the deque, where indexing is cheap
                records = [bucket[i] for i in range(-limit, 0)] if limit > 0 else []
        return [make_message(record) for record in records]

    def stats(self) -> dict[str, Any]:
        """The counters, as plain data."""
        with self._lock:
            return {
                "captured": self._captured,
                "held": len(self._entries),
                "held_bytes": self._bytes,
                "budget": self.budget,
                "evicted": self._evicted,
                "evicted_bytes": self._evicted_bytes,
                "lost": self._problems["lost"],
                "bad_signature": self._problems["bad_signature"],
                "malformed": self._problems["malformed"],
                "replayed": self._problems["replayed"],
                "own_view_traffic": self._problems["own_view_traffic"],
                "by_type": dict(self._type_counts),
                "by_channel": dict(self._channel_counts),
            }

    def wait_for(
        self, match: Callable[[Message], bool], timeout: float, after: int = -1
    ) -> Message | None:
        """The first message with a seq above ``after`` for which ``match`` is true, waiting up
        to ``timeout`` seconds for it to arrive; None if it does not."""
        deadline = time.monotonic() + timeout
        cursor = after
        with self._lock:
            while True:
                for entry in self.entries_after(cursor):
                    cursor = entry.seq
                    if not isinstance(entry, Marker) and match(entry):
                        return entry
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)


def _seq_of(held: _Held) -> int:
    return held.seq if isinstance(held, Marker) else held[0]


def _entry(held: _Held) -> Entry:
    return held if isinstance(held, Marker) else make_message(held)
