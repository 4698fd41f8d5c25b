"""The spec's rules across messages: busy / idle around each request, outputs parented to a
request that was sent, ``execute_input`` before outputs, one reply of the right type on the
right channel for each request, and an execution counter that increases.

:class:`SequenceChecker` is fed messages in capture order (:meth:`~SequenceChecker.feed`) and
gives the problems each one reveals; :meth:`~SequenceChecker.finish` gives those that only the
end of a capture reveals (a request never answered, a request never idle), since a live one may
still come. A kernel that died or restarted (:meth:`~SequenceChecker.forget`) owes nothing more.

What could have been seen: a thread's busy is expected only when its request was sent after
the capture began (the request's ``date``, copied into every output's ``parent_header``, is
later than the first message captured, by a margin for clock skew and for the SUB socket's
subscription to settle), or when the request itself was captured (through the tap). Replies are
matched to requests only with full capture (the tap), where every request is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from ..messages import TO_KERNEL, Message
from .validate import Problem, problem

__all__ = ["SequenceChecker"]

# a request dated less than this after the capture began may have had its busy missed
_MARGIN: Final = 1.0
# outputs: what a request's busy comes before, and what execute_input comes before
_OUTPUTS: Final = frozenset(
    (
        "stream",
        "display_data",
        "update_display_data",
        "execute_result",
        "error",
        "clear_output",
    )
)
# the requests a kernel must answer (msging-compatibility); it may leave others unanswered
_MUST_ANSWER: Final = frozenset(("execute_request", "kernel_info_request"))
_KEPT: Final = 100_000  # requests and threads remembered; the oldest half go past it
_T = TypeVar("_T")


@dataclass(slots=True)
class _Request:
    msg_type: str
    channel: str
    seq: int
    msg_id: str
    replies: int = 0
    stores_history: bool = False


@dataclass(slots=True)
class _Thread:
    """What iopub said about one request."""

    visible: bool  # its busy could have been seen
    busy: bool = False
    idle: bool = False
    outputs: int = 0
    input_seen: bool = False
    busy_flagged: bool = False
    owed: bool = True  # its idle is still owed (not when the kernel died or shut down)
    order: int = -1  # when it went busy, among all busy messages
    seq: int = -1  # the first message of the thread
    msg_id: str = ""


class SequenceChecker:
    """Rules across the messages of one capture. ``full``: every channel is captured (tap)."""

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self._start: float | None = None
        self._requests: dict[str, _Request] = {}
        self._early: dict[str, list[Message]] = {}  # replies captured before their request
        self._threads: dict[str, _Thread] = {}
        self._counts: dict[str, int] = {}  # kernel session -> last count of a stored execution
        self._input_counts: dict[str, int] = {}  # kernel session -> last execute_input's count
        self._shutdown = False  # a shutdown was asked: what follows may go unanswered
        self._busy = 0  # busy messages seen, in order: a thread's ``order``
        self._done = -1  # the highest ``order`` of a thread that went idle
        self._answered: dict[str, int] = {}  # channel -> highest seq of a request answered

    def feed(self, message: Message) -> list[Problem]:
        """The problems ``message`` reveals, given those before it."""
        if self._start is None:
            self._start = message.received
        found: list[Problem] = []
        channel = message.channel
        if channel == "iopub":
            self._iopub(message, found)
        elif (message.direction == TO_KERNEL) != (channel == "stdin"):
            self._request(message, found)
        else:
            self._reply(message, found)
        return found

    def forget(self) -> None:
        """The kernel died, restarted or was asked to shut down: what it owed is not owed any
        more (a death is reported as a death, not as every request it left unanswered)."""
        self._requests.clear()
        self._early.clear()
        for thread in self._threads.values():
            thread.owed = False
        self._shutdown = False  # a kernel that comes back is owed answers again

    def _moved_on(self, request: _Request) -> bool:
        """Whether the kernel is done with ``request``: it went idle for it, or answered a
        later request of its channel (a channel's requests are handled in order). A capture
        that ends while a request runs owes no reply yet."""
        thread = self._threads.get(request.msg_id)
        return (thread is not None and thread.idle) or self._answered.get(
            request.channel, -1
        ) > request.seq

    def finish(self) -> list[Problem]:
        """The problems only the end of the capture reveals."""
        found = []
        if self.full:
            for request in self._requests.values():
                if (
                    request.replies == 0
                    and request.msg_type in _MUST_ANSWER
                    and self._moved_on(request)
                ):
                    found.append(
                        problem(
                            "sequence.reply.missing",
                            f"{request.msg_type} {request.msg_id} was never answered",
                            "",
                            request.seq,
                            request.msg_id,
                        )
                    )
        for parent_id, thread in self._threads.items():
            # flagged once a request that went busy after it went idle: a capture that ends
            # while a request runs is no missing idle
            if thread.busy and not thread.idle and thread.owed and self._done > thread.order:
                found.append(
                    problem(
                        "sequence.idle.missing",
                        f"request {parent_id}: busy, never idle",
                        "",
                        thread.seq,
                        thread.msg_id,
                    )
                )
        return found

    # -- each kind of message ----------------------------------------------------------------

    def _request(self, message: Message, found: list[Problem]) -> None:
        msg_type = message.msg_type
        if msg_type == "shutdown_request":
            # the kernel stops: what it was doing or had queued is not owed, nor what follows
            self.forget()
            self._shutdown = True
        elif self._shutdown:
            return
        if not self.full and message.direction == TO_KERNEL:
            return
        stores = False
        if msg_type == "execute_request":
            content = message.content
            silent = content.get("silent") is True
            stores = not silent and content.get("store_history", True) is not False
        _remember(
            self._requests,
            message.msg_id,
            _Request(msg_type, message.channel, message.seq, message.msg_id, 0, stores),
        )
        for reply in self._early.pop(message.msg_id, ()):
            self._reply(reply, found)

    def _reply(self, message: Message, found: list[Problem]) -> None:
        if not message.msg_type.endswith("_reply"):
            return
        request = self._requests.get(message.parent_id)
        if request is None:
            if self.full:  # the request's copy may come a little later, on another relay path
                early = self._early.get(message.parent_id)
                if early is None:
                    early = _remember(self._early, message.parent_id, [])
                early.append(message)
            return
        seq, msg_id = message.seq, message.msg_id
        wanted = request.msg_type.removesuffix("_request") + "_reply"
        if request.msg_type.endswith("_request") and message.msg_type != wanted:
            found.append(
                problem(
                    "sequence.reply.type",
                    f"{request.msg_type} answered by {message.msg_type}",
                    "header.msg_type",
                    seq,
                    msg_id,
                )
            )
            return  # not its reply: the right one is still owed
        request.replies += 1
        self._answered[request.channel] = max(self._answered.get(request.channel, -1), request.seq)
        if request.replies == 2:
            found.append(
                problem(
                    "sequence.reply.duplicate",
                    f"a second reply to {request.msg_type} {request.msg_id}",
                    "parent_header.msg_id",
                    seq,
                    msg_id,
                )
            )
        moved = message.channel != request.channel
        if moved:
            found.append(
                problem(
                    "sequence.reply.channel",
                    f"{request.msg_type} went on {request.channel}, its reply came on "
                    f"{message.channel}",
                    "channel",
                    seq,
                    msg_id,
                )
            )
        # one channel's messages are captured in order, two channels' may not be
        if request.stores_history and request.replies == 1 and not moved:
            content = message.content
            count = content.get("execution_count")
            if type(count) is int and content.get("status") in ("ok", "error"):
                last = self._counts.get(message.session)
                if last is not None and count <= last:
                    found.append(
                        problem(
                            "sequence.execution_count.increasing",
                            f"execution_count {count} after {last}, for a request that "
                            "stores history",
                            "content.execution_count",
                            seq,
                            msg_id,
                        )
                    )
                self._counts[message.session] = count

    def _iopub(self, message: Message, found: list[Problem]) -> None:
        parent_id = message.parent_id
        if not parent_id:
            return  # side effects only typically have a parent
        msg_type = message.msg_type
        thread = self._threads.get(parent_id)
        if thread is None:
            thread = _remember(self._threads, parent_id, self._new_thread(message))
        seq, msg_id = message.seq, message.msg_id
        if msg_type == "status":
            state = message.content.get("execution_state")
            if state == "busy":
                thread.busy = True
                thread.order = self._busy
                self._busy += 1
            elif state == "idle":
                self._expect_busy(thread, message, found)
                thread.idle = True
                self._done = max(self._done, thread.order)
            return
        if msg_type not in _OUTPUTS and msg_type != "execute_input":
            return
        if (
            self.full
            and thread.visible
            and parent_id not in self._requests
            and not thread.busy
            and not thread.busy_flagged
            and thread.outputs == 0
        ):
            found.append(
                problem(
                    "sequence.output.unknown_parent",
                    f"{msg_type} parented to {parent_id}, a request no client sent",
                    "parent_header.msg_id",
                    seq,
                    msg_id,
                )
            )
            thread.busy_flagged = True  # no request: no busy owed either
        self._expect_busy(thread, message, found)
        if thread.idle:
            found.append(
                problem(
                    "sequence.output.after_idle",
                    f"{msg_type} after its request's idle",
                    "",
                    seq,
                    msg_id,
                )
            )
        if msg_type == "execute_input":
            if thread.outputs and not thread.input_seen:
                found.append(
                    problem(
                        "sequence.execute_input.late",
                        f"execute_input after {thread.outputs} outputs of its request",
                        "",
                        seq,
                        msg_id,
                    )
                )
            thread.input_seen = True
            self._input_count(message, found)
        else:
            thread.outputs += 1

    def _new_thread(self, message: Message) -> _Thread:
        """A thread first seen at ``message``: could its busy have been seen?"""
        parent_id = message.parent_id
        if parent_id in self._requests:
            visible = True
        else:
            sent = _epoch(message.parent_header.get("date"))
            # the tap's capture stream is subscribed before the monitor says it is attached
            margin = 0.0 if self.full else _MARGIN
            visible = sent is not None and self._start is not None and sent > self._start + margin
        # a kernel's process may end with its shutdown_reply: no idle is owed after it
        owed = message.parent_type != "shutdown_request"
        return _Thread(visible, seq=message.seq, msg_id=message.msg_id, owed=owed)

    def _expect_busy(self, thread: _Thread, message: Message, found: list[Problem]) -> None:
        if thread.busy or thread.busy_flagged or not thread.visible:
            return
        thread.busy_flagged = True
        found.append(
            problem(
                "sequence.busy.missing",
                f"{message.msg_type} for request {message.parent_id} before any status busy for it",
                "",
                message.seq,
                message.msg_id,
            )
        )

    def _input_count(self, message: Message, found: list[Problem]) -> None:
        """Without the requests, the counter is seen on execute_input: it never goes down."""
        count = message.content.get("execution_count")
        if type(count) is not int:
            return
        last = self._input_counts.get(message.session)
        if last is not None and count < last:
            found.append(
                problem(
                    "sequence.execution_count.increasing",
                    f"execute_input's execution_count {count} after {last}",
                    "content.execution_count",
                    message.seq,
                    message.msg_id,
                )
            )
        self._input_counts[message.session] = count


def _remember(kept: dict[str, _T], key: str, value: _T) -> _T:
    """Keep ``value`` under ``key``; past _KEPT entries, forget the oldest half (a live capture
    runs for days: old requests are answered or never will be)."""
    if len(kept) >= _KEPT:
        for old in list(kept)[: _KEPT // 2]:
            del kept[old]
    kept[key] = value
    return value


def _epoch(date: object) -> float | None:
    """An ISO 8601 date as seconds since the epoch (a naive one read as local); None if none."""
    if not isinstance(date, str):
        return None
    try:
        when = datetime.fromisoformat(date.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when.timestamp()  # a naive datetime's is local time's
