"""The view feed: what travels between a Monitor and its views on the widget's comm.

A flusher thread wakes every ~50 ms, has the monitor copy its state into traits, and (once a
view has asked for history) sends the rows recorded since the last send, in one message. The
view's requests are answered with the id they came with::

    Python -> view   {"kind": "rows"}                       buffers: [JSON array of Row]
    Python -> view   {"kind": "problems", "seqs": [17], "counts": [2]}
    view -> Python   {"kind": "history", "id": 3}
    Python -> view   {"kind": "history", "id": 3, "total": 120}  buffers: [JSON array of Row]
    view -> Python   {"kind": "bodies", "id": 4, "seqs": [17, 18]}
    Python -> view   {"kind": "bodies", "id": 4}                 buffers: [JSON array of Body]
    view -> Python   {"kind": "older", "id": 5, "before": 9000, "above": -1, "filters": {…}}
    Python -> view   {"kind": "older", "id": 5, "next": 8120, "done": false}
                                                                 buffers: [JSON array of Row]
    view -> Python   {"kind": "match", "id": 8, "query": "content.data.method:update",
                      "seqs": [17, 18]}
    Python -> view   {"kind": "match", "id": 8, "query": "…"}
                                         buffers: [the seqs that match, little-endian float64]
    view -> Python   {"kind": "export", "id": 9, "filters": {…}}
    Python -> view   {"kind": "export", "id": 9, "name": "1b2c3d4e-20261204T180512Z.jsonl",
                      "messages": 120}               buffers: [the trace file's bytes]
    view -> Python   {"kind": "diagram", "id": 10, "msg_id": "…"}
    Python -> view   {"kind": "diagram", "id": 10}  buffers: [m.diagram(msg_id), UTF-8 text]
    view -> Python   {"kind": "refresh", "id": 6}
    Python -> view   {"kind": "refreshed", "id": 6}
    view -> Python   {"kind": "attach", "id": 7, "target": "1b2c"}
    Python -> view   {"kind": "attached", "id": 7}
    view -> Python   {"kind": "views", "count": 0}           (the page shows no view of it)
    Python -> view   {"kind": "error", "id": 7, "message": "…"}  (any request that failed)

A Row's ``problems`` is what the monitor's linter found; a row sent before the linter reached
its message (the linter waits while a flood lasts) says 0, and ``problems`` brings the counts
of the messages found breaking a rule once it has checked them.

A view holds the newest ``window_rows`` rows. Older ones it asks for as its list is scrolled up:
``older`` answers with the rows below ``before`` (and above ``above``) that pass the view's
filters (:func:`~jpf_widget.rows.row_filter`), at most a page of them, in order; ``next`` is
where the search stopped (ask again below it) and ``done`` says nothing older is held.
``match`` says which of the view's rows match a query with terms that a row cannot decide
(paths into the message: ``content.…``); seqs no longer held are left out.
``export`` answers with a trace file (:meth:`Monitor.save`, ``docs/trace-format.md``) of the
messages held that pass the view's filters, named ``<kernel id prefix>-<UTC time>.jsonl``;
``diagram`` with the Mermaid sequence diagram of a request's thread (:meth:`Monitor.diagram`).
The whole contract (traits, Row, Body, DOM hooks) is in ``js/README.md``.

Requests from a view are only handled while the monitoring kernel is idle (they arrive on its
shell channel); sends from the flusher thread go out whatever the kernel is doing.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from .log import Entry, MessageLog
from .messages import Message
from .query import compile_query
from .rows import encode_bodies, row, row_filter

__all__ = ["FLUSH_INTERVAL", "OLDER_ROWS", "FeedHost", "ViewFeed"]

log = logging.getLogger("jpf_widget")

FLUSH_INTERVAL = 0.05
OLDER_ROWS = 500  # a page of older rows
_OLDER_SECONDS = 0.05  # the longest one search for older rows runs before it answers
_ROWS_PER_SEND = 5000  # keeps one comm message to a few MB; the next tick sends the rest


class FeedHost(Protocol):
    """What the feed needs of the monitor it feeds (``Monitor`` is one)."""

    window_rows: int
    kernel_id: str

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Send a custom message to every view."""

    def sync_traits(self) -> None:
        """Copy the back end's state and the log's counters into traits."""

    def own_requests(self) -> set[str]:
        """The msg_ids of the monitor's own requests (its probes)."""

    def problem_count(self, entry: Entry) -> int:
        """How many rules of the spec ``entry`` breaks itself; 0 until the linter checked it."""

    def take_problem_counts(self) -> dict[int, int]:
        """The messages the linter found breaking a rule since the last call: seq -> count."""

    def refresh_kernels(self) -> object:
        """Fill the picker's list of kernels."""

    def attach_from_view(self, target: str) -> str:
        """Attach to ``target``; why it failed, or ""."""

    def close_unseen(self, grace: float) -> None:
        """Close: no view has shown the monitor for ``grace`` seconds."""

    def save(
        self, path: str | os.PathLike[str], *, filter: Callable[[Message], bool] | None = None
    ) -> int:
        """Write the messages held that ``filter`` keeps to a trace file; how many."""

    def diagram(self, msg_id: str | None = None) -> str:
        """The Mermaid sequence diagram of a request's thread."""


class ViewFeed:
    """Feeds one monitor's views from its log, and answers their requests.

    Parameters
    ----------
    host : FeedHost
        The monitor.
    log : MessageLog
        Its log.
    close_after_hidden : float or None
        Seconds after the last view went away before the host is asked to close; None never.
    """

    def __init__(self, host: FeedHost, log: MessageLog, close_after_hidden: float | None) -> None:
        self._host = host
        self._log = log
        self._close_after_hidden = close_after_hidden
        self._hidden_since: float | None = None  # when the last view went away
        self._send_lock = threading.Lock()
        self._streaming = False  # a view asked for history: new rows are sent as they come
        self._sent_seq = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, name="jpf-flush", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the flusher (from any thread, the flusher's own included)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- to the views ---------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL):
            try:
                self._flush()
            except Exception:  # a broken comm must not stop capture or reach the notebook
                log.exception("jpf_widget: flushing to the view failed")

    def _flush(self) -> None:
        hidden_since, grace = self._hidden_since, self._close_after_hidden
        if (
            hidden_since is not None
            and grace is not None
            and time.monotonic() - hidden_since >= grace
        ):
            self._host.close_unseen(grace)
            return
        self._host.sync_traits()
        # rows sent before the linter reached them (it waits out floods) get their counts now
        counts = self._host.take_problem_counts()
        if self._streaming:
            if counts:
                self._send_problem_counts(counts)
            self._send_new_rows()

    def _rows(self, entries: list[Entry]) -> bytes:
        own, count = self._host.own_requests(), self._host.problem_count
        return orjson.dumps([row(e, own, count(e)) for e in entries])

    def _send_problem_counts(self, counts: dict[int, int]) -> None:
        with self._send_lock:
            content = {"kind": "problems", "seqs": list(counts), "counts": list(counts.values())}
            self._host.send(content)

    def _send_new_rows(self) -> None:
        with self._send_lock:
            entries = self._log.entries_after(self._sent_seq, _ROWS_PER_SEND, oldest=True)
            if not entries:
                return
            self._host.send({"kind": "rows"}, [self._rows(entries)])
            self._sent_seq = entries[-1].seq

    # -- from the views -------------------------------------------------------------------------

    def on_message(self, _widget: object, content: Any, _buffers: list[bytes]) -> None:
        """The widget's custom-message handler: answer, never raise into the kernel."""
        try:
            self._answer(content)
        except Exception as exc:  # answer with an error, never raise into the kernel
            log.exception("jpf_widget: could not answer the view")
            request_id = content.get("id") if isinstance(content, dict) else None
            self._host.send({"kind": "error", "id": request_id, "message": str(exc)})

    def _answer(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind, request_id = content.get("kind"), content.get("id")
        host = self._host
        if kind == "views":
            no_view = content.get("count") == 0
            self._hidden_since = time.monotonic() if no_view else None
        elif kind == "history":  # sent by every view as it renders
            self._send_history(request_id)
        elif kind == "bodies":
            seqs = [s for s in content.get("seqs", []) if isinstance(s, int)]
            messages = [e for e in self._log.by_seq(seqs) if isinstance(e, Message)]
            host.send({"kind": "bodies", "id": request_id}, [encode_bodies(messages)])
        elif kind == "older":
            self._send_older(request_id, content)
        elif kind == "match":
            self._send_match(request_id, content)
        elif kind == "export":
            self._send_export(request_id, content)
        elif kind == "diagram" and isinstance(content.get("msg_id"), str):
            text = host.diagram(content["msg_id"])
            host.send({"kind": "diagram", "id": request_id}, [text.encode()])
        elif kind == "refresh":
            host.refresh_kernels()
            host.send({"kind": "refreshed", "id": request_id})
        elif kind == "attach" and isinstance(content.get("target"), str):
            error = host.attach_from_view(content["target"])
            if error:
                host.send({"kind": "error", "id": request_id, "message": error})
            else:
                host.send({"kind": "attached", "id": request_id})
        else:
            host.send({"kind": "error", "id": request_id, "message": f"unknown request {kind!r}"})

    def _send_history(self, request_id: object) -> None:
        """The newest ``window_rows`` rows; from now on, new rows are sent as they come."""
        self._hidden_since = None
        with self._send_lock:
            entries = self._log.entries_after(-1, max(1, self._host.window_rows))
            rows = self._rows(entries)
            self._host.send({"kind": "history", "id": request_id, "total": len(entries)}, [rows])
            if not self._streaming:
                self._sent_seq = entries[-1].seq if entries else -1
                self._streaming = True

    def _send_older(self, request_id: object, content: dict[str, Any]) -> None:
        """Answer an ``older`` request: a page of the rows below ``before`` that pass the
        view's filters (:meth:`MessageLog.search_before`)."""
        before, above = content.get("before"), content.get("above", -1)
        if not isinstance(before, int) or not isinstance(above, int):
            raise TypeError("an older request needs integer 'before' and 'above'")
        filters = content.get("filters")
        own = self._host.own_requests()
        keep = row_filter(filters if isinstance(filters, dict) else {}, own)
        found, cursor, done = self._log.search_before(
            before, keep, above=above, limit=OLDER_ROWS, seconds=_OLDER_SECONDS
        )
        rows = self._rows(found)
        answer = {"kind": "older", "id": request_id, "next": cursor, "done": done}
        self._host.send(answer, [rows])

    def _send_match(self, request_id: object, content: dict[str, Any]) -> None:
        """Answer a ``match`` request: which of ``seqs`` match ``query``."""
        query = content.get("query")
        if not isinstance(query, str):
            raise TypeError("a match request needs a string 'query'")
        match = compile_query(query)
        seqs = [s for s in content.get("seqs", []) if isinstance(s, int)]
        found = [entry.seq for entry in self._log.by_seq(seqs) if match(entry)]
        answer = {"kind": "match", "id": request_id, "query": query}
        self._host.send(answer, [struct.pack(f"<{len(found)}d", *found)])

    def _send_export(self, request_id: object, content: dict[str, Any]) -> None:
        """Answer an ``export`` request: a trace of the messages held that pass the view's
        filters, written by :meth:`Monitor.save` (through a temporary file), as one buffer."""
        filters = content.get("filters")
        keep = row_filter(filters if isinstance(filters, dict) else {}, self._host.own_requests())
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"{self._host.kernel_id[:8] or 'jpf'}-{stamp}.jsonl"
        with tempfile.TemporaryDirectory(prefix="jpf-export-") as tmp:
            path = Path(tmp) / name
            count = self._host.save(path, filter=keep)
            data = path.read_bytes()
        answer = {"kind": "export", "id": request_id, "name": name, "messages": count}
        self._host.send(answer, [data])
