"""Mermaid sequence diagrams of captured messages: who sent what to whom, in order.

Pure functions over :class:`~jpf_widget.messages.Message` and
:class:`~jpf_widget.messages.Marker`. The participants are each client seen (through a tap:
``client 1a2b3c``; without one, the ``Client`` whose replies were seen; ``this monitor`` for
the monitor's own probes), the ``Kernel``, and ``IOPub``, its broadcast channel::

    sequenceDiagram
        participant C1 as client 1a2b3c
        participant K as Kernel
        participant IO as IOPub
        C1->>K: execute_request [1] print(1)
        K-)IO: status busy
        K-)IO: stream stdout: 1
        K-->>C1: execute_reply ok [1]
        Note over K,IO: restart: kernel restarted

Requests go from a client to the kernel (``->>``), replies back (``-->>``), broadcasts to
IOPub (``-)``); markers are notes. A diagram is cut at ``limit`` arrows and says so in a note.
JupyterLab draws a diagram put in a Markdown cell as a ``mermaid`` code block (:func:`fenced`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Iterable, Sequence

from .messages import TO_KERNEL, Marker, Message

__all__ = ["DIAGRAM_LIMIT", "fenced", "sequence_diagram", "thread_diagram"]

DIAGRAM_LIMIT = 200  # arrows: more make a diagram no one reads (and a slow one to draw)
_LABEL_MAX = 60
_KERNEL, _IOPUB, _UNKNOWN, _MONITOR = "K", "IO", "C0", "M"
# characters that end or change a Mermaid message, as its entity codes
_ESCAPES = str.maketrans(
    {"#": "#35;", ";": "#59;", "<": "#60;", ">": "#62;", "%": "#37;", "\n": " ", "\r": " "}
)

Entry = Message | Marker


def fenced(diagram: str) -> str:
    """``diagram`` as a Markdown ``mermaid`` code block."""
    return f"```mermaid\n{diagram}```\n"


def _text(text: str) -> str:
    line = " ".join(text.split())
    if len(line) > _LABEL_MAX:
        line = line[: _LABEL_MAX - 1] + "…"
    return line.translate(_ESCAPES)


def _label(message: Message) -> str:
    channel = "" if message.channel in ("iopub", "shell") else f"{message.channel}: "
    try:
        summary = message.summary
    except Exception:  # a body the typed view cannot read: the type says enough
        summary = ""
    return _text(f"{channel}{message.msg_type} {summary}".strip())


class _Drawing:
    def __init__(self, own: Container[str] = ()) -> None:
        self.clients: dict[str, str] = {}  # client id ("" unknown) -> participant alias
        self.lines: list[str] = []
        self.iopub = False
        self.own = own  # the monitor's own requests: it is the client of those

    def client(self, message: Message) -> str:
        client = message.client or ""
        if message.msg_id in self.own or message.parent_id in self.own:
            client = _MONITOR
        alias = self.clients.get(client)
        if alias is None:
            if client == _MONITOR:
                alias = _MONITOR
            else:
                numbered = sum(1 for a in self.clients.values() if a not in (_MONITOR, _UNKNOWN))
                alias = f"C{numbered + 1}" if client else _UNKNOWN
            self.clients[client] = alias
        return alias

    def add(self, entry: Entry) -> None:
        if isinstance(entry, Marker):
            self.note(f"{entry.kind}: {entry.text}")
            return
        label = _label(entry)
        if entry.channel == "iopub":
            self.iopub = True
            self.lines.append(f"    {_KERNEL}-){_IOPUB}: {label}")
        elif entry.direction == TO_KERNEL:
            self.lines.append(f"    {self.client(entry)}->>{_KERNEL}: {label}")
        else:
            self.lines.append(f"    {_KERNEL}-->>{self.client(entry)}: {label}")

    def note(self, text: str) -> None:
        self.lines.append(f"    Note over {_KERNEL}: {_text(text)}")

    def text(self) -> str:
        head = ["sequenceDiagram"]
        for client, alias in self.clients.items():
            if alias == _MONITOR:
                name = "this monitor"
            else:
                name = f"client {client}" if client else "Client"
            head.append(f"    participant {alias} as {_text(name)}")
        head.append(f"    participant {_KERNEL} as Kernel")
        head.append(f"    participant {_IOPUB} as IOPub")
        return "\n".join(head + self.lines) + "\n"


def sequence_diagram(
    entries: Iterable[Entry],
    *,
    limit: int = DIAGRAM_LIMIT,
    newest: bool = False,
    own: Container[str] = (),
) -> str:
    """The diagram of ``entries`` in order: the first ``limit`` of them (or with ``newest``,
    the last), and a note saying how many more there were. ``entries`` may be a stream: at
    most ``limit`` are held. ``own``: the msg_ids of the monitor's own requests (its replies
    are drawn to "this monitor", not to an unknown client)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    drawing = _Drawing(own)
    left_out = 0
    if newest:
        kept: deque[Entry] = deque(maxlen=limit)
        total = 0
        for entry in entries:
            kept.append(entry)
            total += 1
        left_out = total - len(kept)
        if left_out:
            drawing.note(f"… {left_out} earlier messages not shown (limit {limit})")
        for entry in kept:
            drawing.add(entry)
        return drawing.text()
    for entry in entries:
        if len(drawing.lines) >= limit:
            left_out += 1
            continue
        drawing.add(entry)
    if left_out:
        drawing.note(f"… {left_out} more messages not shown (limit {limit})")
    return drawing.text()


def thread_diagram(
    msg_id: str,
    request: Message | None,
    replies: Sequence[Message],
    *,
    limit: int = DIAGRAM_LIMIT,
    total: int | None = None,
    own: Container[str] = (),
) -> str:
    """The diagram of one thread: the request ``msg_id`` and the messages whose parent it is
    (the first ``limit`` of them; ``total``, when given, is how many there are in all).
    A request that was not captured (only a tap sees other clients' requests) is drawn from
    what its replies say of it, and the diagram says it was not seen."""
    drawing = _Drawing(own)
    shown = list(replies[:limit])
    total = len(replies) if total is None else total
    if request is not None:
        drawing.add(request)
    elif shown:
        first = shown[0]
        kind = first.parent_type or "request"
        to = drawing.client(next((m for m in shown if m.channel != "iopub"), first))
        drawing.lines.append(f"    {to}->>{_KERNEL}: {_text(f'{kind} (not captured)')}")
    else:
        drawing.note(f"no message of thread {msg_id} is held")
    for message in shown:
        drawing.add(message)
    if total > len(shown):
        drawing.note(f"… {total - len(shown)} more messages not shown (limit {limit})")
    return drawing.text()
