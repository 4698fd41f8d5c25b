"""``Monitor``: the anywidget that shows another kernel's messages, and the Python API to them.

``Monitor("1b2c")`` resolves the target into a back end (:func:`~jpf_widget.backends.open_backend`)
that records into a :class:`~jpf_widget.log.MessageLog` from a thread of its own, and starts a
:class:`~jpf_widget.feed.ViewFeed` that keeps the traits and the views up to date. This module
holds the traits and the public API; the comm protocol with the view is in :mod:`jpf_widget.feed`.

The connection key stays in the back end's signer: no trait, message or repr carries it.
Without a front end (a script, a test) everything but the view works the same.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .backends import Backend, ViewTraffic, open_backend
from .diagram import DIAGRAM_LIMIT, fenced, sequence_diagram, thread_diagram
from .feed import ViewFeed
from .kernels import KERNEL_FILE, KernelSummary, TargetError, list_kernels, summarize
from .lint.linter import Linter
from .lint.validate import Problem
from .log import DEFAULT_BUDGET, Entry, MessageLog, entry_of, seq_of
from .messages import Marker, Message, MessageList
from .query import compile_query
from .recording import Recording
from .servers import JupyterServer

__all__ = ["WINDOW_ROWS", "Monitor"]

# The rows a view holds (about 10 MB of the browser's heap). More made every full collection of
# the page's heap longer: in the browser benchmark, 100,000 rows held gave a task over 50 ms in
# half the live streams, 10,000 in one of ten.
WINDOW_ROWS = 10_000
_NOT_ATTACHED = "no kernel chosen: pick one, or call m.attach(target)"
_STATIC = Path(__file__).parent / "static"
# The flusher's time for the linter a tick, and the messages a tick that make a flood: while
# one lasts the linter waits (its Python would take the capture's CPU and the GIL), and it
# catches up once the flood is over
_LINT_SECONDS = 0.005
_LINT_FLOOD = 100  # 2,000 messages a second
# the counters the view shows (with the bytes held)
_COUNTERS = (
    "captured",
    "lost",
    "loss_detection",
    "evicted",
    "bad_signature",
    "malformed",
    "tap_dropped_frames",
    "restarts",
    "by_type",
    "by_channel",
)
# the counters a trace's last line keeps (Monitor.load gives them back)
_RECORDED_STATS = (*_COUNTERS, "own_view_traffic")


def _recorded_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {name: stats[name] for name in _RECORDED_STATS if name in stats}


def _this_kernels_session() -> str | None:
    """The session of the kernel this process is, or None (a script, a test)."""
    try:
        from IPython import get_ipython  # noqa: PLC0415 (only there when IPython is)
    except ImportError:
        return None
    kernel = getattr(get_ipython(), "kernel", None)
    session = getattr(getattr(kernel, "session", None), "session", None)
    return session if isinstance(session, str) else None


def _this_kernels_id() -> str:
    """The id of the kernel this process is (from its connection file's name), or ""."""
    # only look if this process is a kernel: importing ipykernel elsewhere would install its
    # comm manager in a process that has none
    app = getattr(sys.modules.get("ipykernel.kernelapp"), "IPKernelApp", None)
    if app is None or not app.initialized():
        return ""
    match = KERNEL_FILE.match(Path(str(app.instance().connection_file)).name)
    return match["id"] if match else ""


# Shared by every Monitor in this process: none records any monitor's view traffic.
VIEW_TRAFFIC = ViewTraffic(_this_kernels_session())

_MISSING_BUILD = """
export default { render({ el }) {
  el.textContent = "jpf_widget's front end was not built: reinstall with `pip install .` " +
    "(it runs the js/ build) or run `npm ci && npm run build` in js/.";
} };
"""


def _static(name: str, fallback: str) -> Path | str:
    path = _STATIC / name
    return path if path.exists() else fallback


class Monitor(anywidget.AnyWidget):  # type: ignore[misc]
    """Watch another kernel's messages.

    Parameters
    ----------
    target : str or os.PathLike, optional
        A kernel id, a unique id prefix, a connection file's name or path.
    runtime_dir : str or os.PathLike, optional
        Where to look for connection files (default: Jupyter's runtime dir).
    budget : int
        Bytes of messages to keep before the oldest are evicted (default 256 MiB).
    view : {"rendered", "raw", "threaded"}
        The view's starting mode.
    server, token, ca_bundle, verify
        Attach through a Jupyter server's REST API and websocket (see the README).
    close_after_hidden : float or None
        Seconds after the last view on a page goes away (its cell deleted, its output cleared,
        the cell run again) before the monitor closes itself and frees its thread and sockets,
        unless a view shows it again; None keeps it running. A monitor never shown (a script)
        is not affected.
    recording : str or os.PathLike, optional
        A trace file to show instead of a kernel (see :meth:`load`).

    A target that cannot be resolved does not raise: ``status`` becomes ``"failed"`` and
    ``status_detail`` says why (the widget shows it). :meth:`wait_until_connected` raises it.
    """

    _esm = _static("widget.js", _MISSING_BUILD)
    _css = _static("widget.css", "")

    target = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("connecting").tag(sync=True)
    status_detail = traitlets.Unicode("").tag(sync=True)
    kernel_id = traitlets.Unicode("").tag(sync=True)
    connection = traitlets.Dict().tag(sync=True)
    # what the monitor can see of the kernel: "iopub" (its broadcasts, and the replies to the
    # monitor's own requests), "server" (the same, through a Jupyter server), "tap" (every
    # client's traffic on every channel, both ways), "" (attached to nothing)
    capture = traitlets.Unicode("").tag(sync=True)
    kernel_info = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    counters = traitlets.Dict().tag(sync=True)
    view = traitlets.Enum(("rendered", "raw", "threaded"), default_value="rendered").tag(sync=True)
    # "comfortable": each row shows its content inline (rendered, or its JSON in raw mode),
    # capped in height; "compact": one line per message (for floods)
    density = traitlets.Enum(("compact", "comfortable"), default_value="comfortable").tag(sync=True)
    filter_types = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filter_channels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filter_directions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filter_clients = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filter_text = traitlets.Unicode("").tag(sync=True)
    show_status = traitlets.Bool(False).tag(sync=True)
    # list only the messages that break the messaging spec (a badge on their row)
    only_problems = traitlets.Bool(False).tag(sync=True)
    paused = traitlets.Bool(False).tag(sync=True)
    cleared_seq = traitlets.Int(-1).tag(sync=True)
    window_rows = traitlets.Int(WINDOW_ROWS).tag(sync=True)
    kernels = traitlets.List(traitlets.Dict()).tag(sync=True)
    kernels_error = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        target: str | os.PathLike[str] | None = None,
        *,
        runtime_dir: str | os.PathLike[str] | None = None,
        budget: int = DEFAULT_BUDGET,
        server: str | None = None,
        token: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        verify: bool = True,
        close_after_hidden: float | None = 30.0,
        recording: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._log = MessageLog(budget)
        self._runtime_dir = runtime_dir
        self._server = (server, token, ca_bundle, verify)
        self._backend: Backend | None = None
        self._error: TargetError | None = None
        self._closed = threading.Event()
        self._attach_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._synced: tuple[int, ...] = ()
        self._linter = Linter(self._log)
        self._lint_mark = -1  # the log's last seq at the flusher's previous tick
        self._recordings: list[Recording] = []  # those record() started, ended by close()
        self._feed = ViewFeed(self, self._log, close_after_hidden)
        self.on_msg(self._feed.on_message)
        VIEW_TRAFFIC.comm_ids.add(self.model_id)
        self._feed.start()
        if recording is not None:
            self._replay(recording)
        elif target is None:
            self.status, self.status_detail = "closed", _NOT_ATTACHED
            self.refresh_kernels()
        else:
            self.attach(target, server=server, token=token, ca_bundle=ca_bundle, verify=verify)

    def attach(
        self,
        target: str | os.PathLike[str],
        *,
        server: str | None = None,
        token: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        verify: bool = True,
    ) -> Monitor:
        """Watch ``target`` (letting go of the kernel watched so far); returns the Monitor.

        ``target`` is a kernel id, a unique id prefix, a connection file, or a notebook path or
        name known to a Jupyter server on this machine. With ``server`` (a URL; ``token``, else
        ``$JUPYTER_TOKEN``), the kernel is watched through that server's websocket.
        A target that cannot be attached to does not raise: ``status`` becomes ``"failed"``
        and ``status_detail`` says why (:meth:`wait_until_connected` raises it).
        """
        with self._attach_lock:
            previous = self._backend
            if previous is not None:
                self._backend = None
                previous.close()
            self.target = os.fspath(target)
            self.kernel_info = None  # type: ignore[assignment]  # allow_none: the stubs miss it
            try:
                backend = open_backend(
                    self.target,
                    self._log,
                    runtime_dir=self._runtime_dir,
                    server=server,
                    token=token,
                    ca_bundle=ca_bundle,
                    verify=verify,
                    view_traffic=VIEW_TRAFFIC,
                )
            except TargetError as exc:
                self._error = exc
                self.kernel_id, self.connection, self.capture = "", {}, ""
                self.status, self.status_detail = "failed", str(exc)
                return self
            self._error = None
            self.kernel_id = backend.kernel_id
            self.connection = backend.connection()
            self.capture = backend.capture
            self._linter.full = backend.capture == "tap"
            self.status, self.status_detail = "connecting", ""
            if previous is not None:
                self._log.add_marker("switched", f"switched to kernel {backend.kernel_id}")
            self._log.add_marker("attached", f"attached to kernel {backend.kernel_id}")
            self._synced = ()
            self._backend = backend
            backend.start()
            return self

    def refresh_kernels(self) -> list[KernelSummary]:
        """Fill the picker's ``kernels`` trait (from ``server=`` if given, else this machine's
        connection files and Jupyter servers); returns the list."""
        server, token, ca_bundle, verify = self._server
        try:
            if server is not None:
                client = JupyterServer(server, token, ca_bundle=ca_bundle, verify=verify)
                kernels = [summarize(known) for known in client.server_kernels()]
            else:
                kernels = list_kernels(self._runtime_dir)
        except TargetError as exc:
            self.kernels_error = str(exc)
            return []
        self.kernels_error = ""
        own = _this_kernels_id()
        self.kernels = [
            dataclasses.asdict(kernel) | {"own": bool(own) and kernel.kernel_id == own}
            for kernel in kernels
        ]
        return kernels

    def __repr__(self) -> str:
        return f"<Monitor {self.kernel_id or self.target!r} {self.status}>"

    # -- the Python API -------------------------------------------------------------------------

    @property
    def messages(self) -> MessageList:
        """Every captured message still held, in arrival order (a read-only sequence: each
        item becomes a Message when read)."""
        return self._log.messages()

    def query(self, query: str) -> MessageList:
        """The messages held that match ``query``, in arrival order: free text and
        ``field:value`` terms, as in the view's filter box (``docs/query-language.md``), e.g.
        ``m.query("content.data.method:update -channel:shell")``.

        Raises
        ------
        jpf_widget.query.QueryError
            a malformed query (a ValueError); the message says where and what to write.
        """
        match = compile_query(query)
        return MessageList([m._record for m in self._log.messages() if match(m)])

    def thread(self, msg_id: str, limit: int | None = None) -> list[Message]:
        """The messages whose parent is ``msg_id``, in arrival order (only the newest ``limit``
        of them, when given: a flood's thread can hold a million)."""
        return self._log.thread(msg_id, limit)

    def comm_messages(self, comm_id: str) -> list[Message]:
        """The messages of one comm, in arrival order."""
        return self._log.comm(comm_id)

    def get(self, msg_id: str) -> Message | None:
        """The message with this msg_id, if it is still held."""
        return self._log.get(msg_id)

    def wait_for(
        self,
        match: str | Callable[[Message], bool],
        timeout: float = 10.0,
        after: int | Message = -1,
    ) -> Message:
        """The first captured message of type ``match`` (or for which ``match(msg)`` is true),
        waiting up to ``timeout`` seconds.

        Searches what was captured so far, then what arrives. ``after`` (a seq or a message)
        skips everything up to it.

        Raises
        ------
        TimeoutError
            nothing matched in time.
        """
        start = after.seq if isinstance(after, Message) else after
        if isinstance(match, str):
            found = self._log.wait_for(lambda _: True, timeout, start, msg_type=match)
        else:
            found = self._log.wait_for(match, timeout, start)
        if found is None:
            what = repr(match) if isinstance(match, str) else "a matching message"
            raise TimeoutError(
                f"no {what} within {timeout} s (status: {self._live_status()[0]}, "
                f"{self._log.stats()['captured']} messages captured)"
            )
        return found

    def wait_until_connected(self, timeout: float = 10.0) -> Monitor:
        """Block until the kernel's heartbeat answers (``kernel_info`` may come later: a busy
        kernel answers our kernel_info_request when its running cell ends).

        Raises
        ------
        TargetError
            the target could not be resolved.
        TimeoutError
            it did not connect in time (the message has the status and why).
        """
        if self._error is not None:
            raise self._error
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, detail = self._live_status()
            if state == "connected":
                self.sync_traits()
                return self
            if state in ("closed", "failed"):
                break
            time.sleep(0.02)
        state, detail = self._live_status()
        raise TimeoutError(f"not connected after {timeout} s: {state}. {detail}".strip())

    def _live_status(self) -> tuple[str, str]:
        if self._backend is None:
            return self.status, self.status_detail
        return self._backend.state, self._backend.detail

    # -- recordings and diagrams ---------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        budget: int = DEFAULT_BUDGET,
        close_after_hidden: float | None = 30.0,
        **kwargs: Any,
    ) -> Monitor:
        """A Monitor over the recording at ``path`` (a trace file: :meth:`save`, ``jpf
        record``): the same API and view, ``status == "replay"``, ``capture`` as recorded,
        attached to nothing. Lines of the file that cannot be read are skipped and counted in
        ``stats["malformed"]``; the recorded counters (lost, bad signatures, restarts) are
        given back. ``budget`` bounds what is kept, as for a live monitor.

        Raises
        ------
        OSError
            the file cannot be read.
        jpf_widget.trace.TraceError
            it is not a trace.
        """
        return cls(budget=budget, close_after_hidden=close_after_hidden, recording=path, **kwargs)

    def _replay(self, path: str | os.PathLike[str]) -> None:
        try:
            backend = open_backend(os.fspath(path), self._log, recording=True)
        except BaseException:
            self.close()
            raise
        self.target = os.fspath(path)
        self._linter.full = backend.capture == "tap"
        try:
            backend.start()  # reads the file; the flusher lints nothing until it is read
        except BaseException:
            backend.close()
            self.close()
            raise
        self._backend = backend
        self.kernel_id, self.capture = backend.kernel_id, backend.capture
        self.sync_traits()

    def save(
        self, path: str | os.PathLike[str], *, filter: Callable[[Message], bool] | None = None
    ) -> int:
        """Write the messages held (or those for which ``filter(message)`` is true) and the
        markers between them to a trace file at ``path`` (``.jsonl``; ``.jsonl.gz`` compresses);
        returns how many messages were written. The file has no key and no signatures, and a
        password typed at a prompt was masked before it was recorded. :meth:`load` reads it.
        """
        first = self._log.held_after(-1, 1)
        backend = self._backend
        done = threading.Event()
        done.set()  # what arrives while saving is left for the next save
        recording = Recording(
            self._log,
            path,
            kernel_id=self.kernel_id,
            kernel_info=self.kernel_info or (backend.kernel_info if backend else None),
            connection=self.connection,
            capture=self.capture,
            own_requests=self.own_requests,
            keep=filter,
            after=seq_of(first[0]) - 1 if first else -1,
            stats=lambda: _recorded_stats(self._stats(catch_up=False)),
            started=entry_of(first[0]).received if first else None,
            stop=done,
        )
        recording.run()
        return recording.written

    def record(
        self,
        path: str | os.PathLike[str],
        *,
        filter: Callable[[Message], bool] | None = None,
        count: int | None = None,
        duration: float | None = None,
    ) -> Recording:
        """Write every message captured from now on (or those for which ``filter(message)`` is
        true), and the markers between them, to a trace file at ``path`` as they come, until
        ``recording.stop()``, ``count`` messages, ``duration`` seconds, or :meth:`close`.
        Returns the :class:`~jpf_widget.recording.Recording` (``written``, ``not_written``,
        ``lost``, ``wait()``, ``stop()``).

        The file is written from a thread of its own, behind the capture: capture never waits
        for it, and a recording far enough behind that the budget evicts messages first marks
        their number in the file (``not_written``). Unlike :meth:`save`, what is written is not
        bounded by the budget. :meth:`load` and ``jpf show`` read it.

        Raises
        ------
        RuntimeError
            the monitor is closed, attached to nothing, or shows a recording.
        OSError
            the file cannot be created.
        """
        if self._closed.is_set():
            raise RuntimeError("this monitor is closed: make a new Monitor to record")
        backend = self._backend
        if backend is None or backend.state == "replay":
            raise RuntimeError(
                "this monitor watches no kernel"
                + (" (it shows a recording: save() writes it)" if backend else ": attach first")
            )
        recording = Recording(
            self._log,
            path,
            kernel_id=self.kernel_id,
            kernel_info=self.kernel_info or backend.kernel_info,
            connection=self.connection,
            capture=self.capture,
            own_requests=self.own_requests,
            keep=filter,
            count=count,
            duration=duration,
            after=self._log.last_seq,
            stats=lambda: _recorded_stats(self._stats(catch_up=False)),
        )
        with self._attach_lock:
            self._recordings = [r for r in self._recordings if r.active] + [recording]
        return recording.start()

    def diagram(self, msg_id: str | None = None, *, limit: int = DIAGRAM_LIMIT) -> str:
        """A Mermaid ``sequenceDiagram`` of the thread of the request ``msg_id`` (the request
        and every message whose parent it is) or, without one, of the newest ``limit``
        messages held, fenced as a Markdown code block: ``IPython.display.Markdown(m.diagram())``
        shows it in JupyterLab. A diagram cut at ``limit`` arrows says so."""
        own = self.own_requests()
        if msg_id is None:
            entries = self._log.entries_after(-1, limit + 1)
            return fenced(sequence_diagram(entries, limit=limit, newest=True, own=own))
        request, replies = self.get(msg_id), self.thread(msg_id)
        return fenced(thread_diagram(msg_id, request, replies, limit=limit, own=own))

    @property
    def problems(self) -> list[Problem]:
        """What the captured messages break of the messaging spec, each message's and the
        sequence's (:mod:`jpf_widget.lint`), in the order found; every message recorded by now is
        checked first. A request never answered, or never idle, is reported once the monitor is
        closed (until then its answer may still come)."""
        return self._linter.problems()

    @property
    def stats(self) -> dict[str, Any]:
        """Counts: captured (also as ``total``), by_type, by_channel, lost, evicted, bad_signature,
        malformed, restarts, whether loss detection works for this kernel, and ``problems``:
        breaches of the messaging spec (errors, warnings, by_rule; checked, unchecked)."""
        return self._stats(catch_up=True)

    def _stats(self, catch_up: bool) -> dict[str, Any]:
        stats = self._log.stats()
        stats["problems"] = self._linter.stats(catch_up)
        stats["total"] = stats["captured"]
        backend = self._backend
        stats["restarts"] = backend.restarts if backend else 0
        stats["loss_detection"] = backend.loss.text if backend else "waiting"
        return stats

    def close(self) -> None:
        """Stop capturing and close the widget. Idempotent."""
        self._close("")

    def _close(self, reason: str) -> None:
        closed = getattr(self, "_closed", None)  # None when __init__ did not get that far
        if closed is None or closed.is_set():
            return
        closed.set()
        VIEW_TRAFFIC.comm_ids.discard(self.model_id)
        if self._backend is not None:
            self._backend.close()
        for recording in self._recordings:
            recording.stop()
        self._feed.stop()
        self._linter.finish()
        self.status = "closed"
        self.status_detail = reason
        super().close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what the view feed needs (FeedHost) ----------------------------------------------------

    def sync_traits(self) -> None:
        """Copy the back end's state and the log's counters into traits, when they changed."""
        backend = self._backend
        if backend is None:
            return
        with self._sync_lock:
            last_seq = self._log.last_seq
            if last_seq - self._lint_mark <= _LINT_FLOOD:
                self._linter.catch_up(_LINT_SECONDS)
            self._lint_mark = last_seq
            stats = self._log.stats()
            problems = stats["bad_signature"] + stats["malformed"] + stats["evicted"]
            key = (id(backend), backend.changes, self._log.last_seq, problems, stats["lost"])
            if key == self._synced:
                return
            self._synced = key
            with self.hold_sync():
                self.status = backend.state
                self.status_detail = backend.detail
                self.connection = backend.connection()
                if backend.kernel_info is not None and backend.kernel_info != self.kernel_info:
                    self.kernel_info = backend.kernel_info
                self.counters = self._counters()

    def _counters(self) -> dict[str, Any]:
        stats = self._stats(catch_up=False)
        return {name: stats[name] for name in _COUNTERS} | {"bytes": stats["held_bytes"]}

    def own_requests(self) -> set[str]:
        return self._backend.own_requests if self._backend is not None else set()

    def problem_count(self, entry: Entry) -> int:
        if isinstance(entry, Marker):
            return 0
        count = self._linter.count_of(entry.seq)
        if count is None:  # not reached yet (0: the counts follow), or past the linter's memory
            return 0 if entry.seq > self._linter.cursor else len(entry.problems)
        return count

    def take_problem_counts(self) -> dict[int, int]:
        return self._linter.take_counts()

    def attach_from_view(self, target: str) -> str:
        server, token, ca_bundle, verify = self._server
        self.attach(target, server=server, token=token, ca_bundle=ca_bundle, verify=verify)
        return self.status_detail if self.status == "failed" else ""

    def close_unseen(self, grace: float) -> None:
        self._close(
            f"closed itself: no view showed it for {grace:g} s (its cell was deleted "
            "or its output cleared); Monitor(..., close_after_hidden=None) keeps it"
        )
