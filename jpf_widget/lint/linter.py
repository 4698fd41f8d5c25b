"""The linter of one capture: every message of a :class:`~jpf_widget.log.MessageLog` checked
against the spec's rules, off capture's path.

Capture never validates: it appends to the log. The linter reads what the log recorded since it
last looked (:meth:`Linter.catch_up`), checks each message (:func:`~.validate.check`) and the
sequence (:class:`~.sequence.SequenceChecker`), and keeps the problems found, with counts by
rule. A Monitor's flusher thread calls it with a time budget on every tick, and anything that
reads problems or counts (``m.problems``, ``m.stats["problems"]``) has it catch up first, so
nothing recorded is reported clean before it was checked. A message the log evicted before the
linter reached it is counted as ``unchecked``, never as clean.

Each message is checked once: the view's rows read the count of its own problems from the
linter (:meth:`Linter.count_of`), and the messages found breaking a rule since the last look
(:meth:`Linter.take_counts`) go to the views that already hold their rows.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Final

from ..log import MessageLog
from ..messages import FROM_KERNEL, Marker, Message
from .sequence import SequenceChecker
from .spec import parse_version
from .validate import Problem, check

__all__ = ["Findings", "Linter"]

_CHUNK: Final = 2000  # messages taken from the log at a time
_BUDGET_STEP: Final = 50  # messages checked between two looks at the clock (~0.4 ms)
_KEEP: Final = 100_000  # problems kept (the counts go on past it)
_FORGET: Final = frozenset(("dead", "restart"))  # markers after which nothing is owed


class Findings:
    """The problems of a stream of messages fed in capture order (:meth:`feed`): each message's
    and the sequence's, kept with counts by rule and severity. ``full``: every channel is
    captured (a tap), so requests and replies are matched."""

    def __init__(self, full: bool = False) -> None:
        self.sequence = SequenceChecker(full)
        self.problems: list[Problem] = []  # the first _KEEP found, in the order found
        self.by_seq: dict[int, list[Problem]] = {}
        self.counts: Counter[str] = Counter()
        self.severities: Counter[str] = Counter()
        self.checked = 0
        self.version: tuple[int, int] | None = None  # announced in kernel_info_reply
        self.finished = False

    def feed(self, message: Message) -> int:
        """Check ``message``, and the sequence with it; how many rules it breaks itself."""
        found = check(
            message.header, message.parent_header, message.content, message.channel, self.version
        )
        if (
            self.version is None
            and message.msg_type == "kernel_info_reply"
            and message.direction == FROM_KERNEL
        ):
            self.version = parse_version(message.content.get("protocol_version"))
        seq, msg_id = message.seq, message.msg_id
        for each in found:
            self.add(each._replace(seq=seq, msg_id=msg_id))
        for each in self.sequence.feed(message):
            self.add(each)
        self.checked += 1
        return len(found)

    def mark(self, marker: Marker) -> None:
        """A marker of the capture: a kernel that died or restarted owes nothing more."""
        if marker.kind in _FORGET:
            self.sequence.forget()

    def finish(self) -> None:
        """The capture ended: add what only its end reveals (requests never answered or never
        idle). Later calls do nothing."""
        if not self.finished:
            self.finished = True
            for each in self.sequence.finish():
                self.add(each)

    def add(self, found: Problem) -> None:
        self.counts[found.rule] += 1
        self.severities[found.severity] += 1
        if len(self.problems) < _KEEP:
            self.problems.append(found)
            self.by_seq.setdefault(found.seq, []).append(found)

    def stats(self) -> dict[str, Any]:
        return {
            "errors": self.severities["error"],
            "warnings": self.severities["warning"],
            "by_rule": dict(self.counts),
            "checked": self.checked,
        }


class Linter:
    """Checks a log's messages, the newest as they come.

    Parameters
    ----------
    log : MessageLog
        The capture.
    full : bool
        Every channel is captured (a tap): requests and replies are matched.
    """

    def __init__(self, log: MessageLog, full: bool = False) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._cursor = -1  # the seq of the last entry looked at
        self._findings = Findings(full)
        self._unchecked = 0
        self._ended = False  # the capture ended (finish)
        self._counts: dict[int, int] = {}  # seq -> its own problems, for the first _KEEP flagged
        self._fresh: dict[int, int] = {}  # the same, found since take_counts last looked

    @property
    def full(self) -> bool:
        return self._findings.sequence.full

    @full.setter
    def full(self, value: bool) -> None:
        self._findings.sequence.full = value

    def catch_up(self, seconds: float | None = None) -> bool:
        """Check what was recorded since the last look: all of it, or what ``seconds`` allow.
        Returns whether every recorded message is now checked."""
        deadline = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            while True:
                entries = self._log.entries_after(self._cursor, _CHUNK, oldest=True)
                if not entries:
                    if self._ended:
                        self._findings.finish()  # once: later calls do nothing
                    return True
                skipped = entries[0].seq - self._cursor - 1
                if skipped > 0:  # evicted before the linter reached them
                    self._unchecked += skipped
                for n, entry in enumerate(entries, 1):
                    self._cursor = entry.seq
                    if isinstance(entry, Marker):
                        self._findings.mark(entry)
                    else:
                        found = self._findings.feed(entry)
                        if found:
                            self._flag(entry.seq, found)
                    # a chunk takes ~15 ms: the budget is looked at within it
                    if (
                        deadline is not None
                        and n % _BUDGET_STEP == 0
                        and time.monotonic() >= deadline
                    ):
                        return False
                if deadline is not None and time.monotonic() >= deadline:
                    return self._cursor >= self._log.last_seq

    def _flag(self, seq: int, count: int) -> None:
        if len(self._counts) < _KEEP:
            self._counts[seq] = count
        if len(self._fresh) < _KEEP:  # nobody takes them when no view is shown
            self._fresh[seq] = count

    @property
    def cursor(self) -> int:
        """The seq of the last entry checked (-1: none yet)."""
        return self._cursor

    def count_of(self, seq: int) -> int | None:
        """How many rules the message ``seq`` breaks itself (not the sequence's); None when it
        is not checked yet, or past the first _KEEP flagged messages (check it then)."""
        with self._lock:
            if seq > self._cursor:
                return None
            count = self._counts.get(seq)
            if count is None and len(self._counts) >= _KEEP:
                return None
            return count or 0

    def take_counts(self) -> dict[int, int]:
        """The messages found breaking a rule since the last call: seq -> how many rules."""
        with self._lock:
            fresh, self._fresh = self._fresh, {}
            return fresh

    def finish(self) -> None:
        """The capture ended: what only its end reveals is added once everything recorded
        is checked, when problems or counts are next read (closing costs nothing)."""
        self._ended = True

    def problems(self) -> list[Problem]:
        """Every problem found so far, in the order found (after catching up)."""
        self.catch_up()
        with self._lock:
            return list(self._findings.problems)

    def problems_of(self, seq: int) -> list[Problem] | None:
        """The problems of the message ``seq``; None when it is not checked yet."""
        with self._lock:
            if seq > self._cursor:
                return None
            return list(self._findings.by_seq.get(seq, ()))

    def stats(self, catch_up: bool = True) -> dict[str, Any]:
        """``{"errors", "warnings", "by_rule", "checked", "unchecked"}``: ``unchecked`` counts
        messages recorded but not checked (yet, or ever: evicted before they were)."""
        if catch_up:
            self.catch_up()
        with self._lock:
            pending = max(0, self._log.last_seq - self._cursor)
            return self._findings.stats() | {"unchecked": self._unchecked + pending}
