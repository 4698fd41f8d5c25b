"""Loss from gaps in the kernel's msg_id counter: how many messages never arrived.

ipykernel's msg_ids are ``f"{session}_{pid}_{n}"``, ``n`` counting every message that process
sends on any channel; a jump in ``n`` is a gap. Kernels whose ids carry no counter (xeus: plain
uuids) get "not available for this kernel", never false gaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LossDetector"]

_COUNTER_KEY = re.compile(r"^.+_(?P<pid>\d+)$")  # "{session}_{pid}", before "_{n}"


@dataclass
class _Counter:
    """One kernel process's counter, over the window from the first iopub message we heard
    (what it sent before our subscription reached it was never ours to get)."""

    low: int = -1  # -1: no iopub message yet
    high: int = -1
    seen: int = 0
    requests: set[str] = field(default_factory=set)  # requests whose replies we cannot see
    answered: set[str] = field(default_factory=set)  # our own requests, replies seen
    # replies on shell numbered above the newest iopub message: the iopub messages sent before
    # them may still be on their way, so they wait here rather than open a gap
    ahead: set[int] = field(default_factory=set)

    def take(self, n: int, channel: str) -> None:
        if channel != "iopub" and n > self.high:
            self.ahead.add(n)
        elif self.high < 0:  # the window opens; replies from before it are outside
            self.low = self.high = n
            self.seen = 1
            self.ahead = {a for a in self.ahead if a > n}
        elif n <= self.high:
            self.seen += 1
            self.low = min(self.low, n)
        else:
            self.high = n
            self.seen += 1
            if self.ahead:  # count the replies that iopub has now caught up with
                reached = {a for a in self.ahead if a <= n}
                self.seen += len(reached)
                self.ahead -= reached

    @property
    def missing(self) -> int:
        if self.high < 0:
            return 0
        # Each request handled leaves one counter value on a reply we cannot see.
        return max(0, self.high - self.low + 1 - self.seen - len(self.requests))


class LossDetector:
    """Counts messages that never arrived, from gaps in the kernel's msg_id counter.

    ipykernel's msg_ids are ``f"{session}_{pid}_{n}"`` with ``n`` counting every message that
    process sends on any channel. A shell/control/stdin reply to another client uses a number we
    never see, so each request seen (through the ``parent_header`` of its iopub messages) excuses
    one missing number. Kernels whose msg_ids carry no counter (xeus: plain uuids) get
    ``available = False`` and no loss is ever reported for them.

    ``every_reply``: every client's replies come to us (a tap's capture), so no number is
    excused: a reply that never came is a loss like any other message.
    """

    def __init__(self, every_reply: bool = False) -> None:
        self._counters: dict[str, _Counter] = {}
        self.available: bool | None = None  # None until the first kernel message
        self.every_reply = every_reply

    def feed(
        self, msg_id: str, msg_type: str, channel: str, parent: dict[str, Any], own: bool = False
    ) -> None:
        """Account for one message; ``own`` when it belongs to one of our requests.

        A request seen on iopub excuses one number (its reply) until that reply is seen: our
        own requests' replies come to us on shell, in either order with their iopub status."""
        key, _, number = msg_id.rpartition("_")
        counter = self._counters.get(key)
        if counter is None:
            if not (number.isdigit() and _COUNTER_KEY.match(key)):
                if msg_type != "iopub_welcome":
                    self.available = False
                return
            if self.available is None:
                self.available = True
            counter = self._counters[key] = _Counter()
        elif not number.isdigit():
            return
        counter.take(int(number), channel)
        parent_id = str(parent.get("msg_id"))
        if self.every_reply:
            return
        if channel == "iopub":
            parent_type = parent.get("msg_type")
            if (
                isinstance(parent_type, str)
                and parent_type.endswith("_request")
                and parent_id not in counter.answered
            ):
                counter.requests.add(parent_id)
        elif own:
            counter.answered.add(parent_id)
            counter.requests.discard(parent_id)

    @property
    def lost(self) -> int:
        if not self.available:
            return 0
        return sum(counter.missing for counter in self._counters.values())

    @property
    def text(self) -> str:
        if self.available is None:
            return "waiting"
        return "available" if self.available else "not available for this kernel"

    def pid(self) -> int | None:
        """The kernel's process id, as carried in its newest msg_ids (None if unknown)."""
        for key in reversed(list(self._counters)):
            match = _COUNTER_KEY.match(key)
            if match:
                return int(match["pid"])
        return None
