"""``Monitor``: the anywidget that shows another kernel's messages, and the Python API to them.

``Monitor("1b2c")`` resolves the target, starts a :class:`~jpf_widget.capture.Capture` thread
into a :class:`~jpf_widget.log.MessageLog`, and a flusher thread that every ~50 ms copies the
capture's state into traits and, once a view has asked for history, sends the new rows::

    Python -> view   {"kind": "rows"}                       buffers: [JSON array of Row]
    view -> Python   {"kind": "history", "id": 3}
    Python -> view   {"kind": "history", "id": 3, "total": 120}  buffers: [JSON array of Row]
    view -> Python   {"kind": "bodies", "id": 4, "seqs": [17, 18]}
    Python -> view   {"kind": "bodies", "id": 4}                 buffers: [JSON array of Body]
    view -> Python   {"kind": "older", "id": 5, "before": 9000, "above": -1, "filters": {…}}
    Python -> view   {"kind": "older", "id": 5, "next": 8120, "done": false}
                                                                 buffers: [JSON array of Row]

A view holds the newest ``window_rows`` rows. Older ones it asks for as its list is scrolled up:
``older`` answers with the rows below ``before`` (and above ``above``) that pass the view's
filters (:func:`~jpf_widget.rows.row_filter`), at most a page of them, in order; ``next`` is
where the search stopped (ask again below it) and ``done`` says nothing older is held.

The whole contract (traits, Row, Body, DOM hooks) is in ``js/README.md``. The connection key
stays in the capture's signer: no trait, message or repr carries it.

Without a front end (a script, a test) everything but the view works the same.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import orjson
import traitlets

from .capture import Capture, ViewTraffic
from .kernels import (
    KERNEL_FILE,
    ConnectionInfo,
    KernelSummary,
    TargetError,
    list_kernels,
    resolve,
)
from .log import DEFAULT_BUDGET, Entry, MessageLog
from .messages import Message, MessageList
from .remote import RemoteCapture
from .rows import encode_bodies, row, row_filter
from .servers import JupyterServer

__all__ = ["WINDOW_ROWS", "Monitor"]

log = logging.getLogger("jpf_widget")

# The rows a view holds (about 10 MB of the browser's heap). More made every full collection of
# the page's heap longer: in the browser benchmark, 100,000 rows held gave a task over 50 ms in
# half the live streams, 10,000 in one of ten.
WINDOW_ROWS = 10_000
OLDER_ROWS = 500  # a page of older rows
_OLDER_CHUNK = 2000  # entries read from the log at a time while looking for older rows
_OLDER_SECONDS = 0.05  # the longest one search for older rows runs before it answers
FLUSH_INTERVAL = 0.05
_ROWS_PER_SEND = 5000  # keeps one comm message to a few MB; the next tick sends the rest
_NOT_ATTACHED = "no kernel chosen: pick one, or call m.attach(target)"
_STATIC = Path(__file__).parent / "static"


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
    kernel_info = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    counters = traitlets.Dict().tag(sync=True)
    view = traitlets.Enum(("rendered", "raw", "threaded"), default_value="rendered").tag(sync=True)
    filter_types = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filter_channels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    filter_text = traitlets.Unicode("").tag(sync=True)
    show_status = traitlets.Bool(False).tag(sync=True)
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._close_after_hidden = close_after_hidden
        self._hidden_since: float | None = None  # when the last view went away
        self._log = MessageLog(budget)
        self._runtime_dir = runtime_dir
        self._server = (server, token, ca_bundle, verify)
        self._capture: Capture | RemoteCapture | None = None
        self._error: TargetError | None = None
        self._closed = threading.Event()
        self._attach_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._streaming = False
        self._sent_seq = -1
        self._synced: tuple[int, ...] = ()
        self.on_msg(self._on_view_message)
        VIEW_TRAFFIC.comm_ids.add(self.model_id)
        self._flusher = threading.Thread(target=self._flush_loop, name="jpf-flush", daemon=True)
        self._flusher.start()
        if target is None:
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
            previous = self._capture
            if previous is not None:
                self._capture = None
                previous.close()
            self.target = os.fspath(target)
            self.kernel_info = None  # type: ignore[assignment]  # allow_none: the stubs miss it
            try:
                capture = self._open(self.target, server, token, ca_bundle, verify)
            except TargetError as exc:
                self._error = exc
                self.kernel_id, self.connection = "", {}
                self.status, self.status_detail = "failed", str(exc)
                return self
            self._error = None
            self.kernel_id = capture.kernel_id
            self.connection = capture.connection()
            self.status, self.status_detail = "connecting", ""
            if previous is not None:
                self._log.add_marker("switched", f"switched to kernel {capture.kernel_id}")
            self._log.add_marker("attached", f"attached to kernel {capture.kernel_id}")
            self._synced = ()
            self._capture = capture
            capture.start()
            return self

    def _open(
        self,
        target: str,
        server: str | None,
        token: str | None,
        ca_bundle: str | os.PathLike[str] | None,
        verify: bool,
    ) -> Capture | RemoteCapture:
        if server is not None:
            return RemoteCapture.connect(
                target,
                self._log,
                server=server,
                token=token,
                ca_bundle=os.fspath(ca_bundle) if ca_bundle is not None else None,
                verify=verify,
                view_traffic=VIEW_TRAFFIC,
            )
        found = resolve(target, self._runtime_dir)
        if isinstance(found, ConnectionInfo):
            return Capture(found, self._log, view_traffic=VIEW_TRAFFIC)
        # a notebook whose kernel has no connection file here: through its server's websocket
        return RemoteCapture.connect(
            found.kernel_id,
            self._log,
            server=JupyterServer(found.server_url, runtime_dir=self._runtime_dir),
            view_traffic=VIEW_TRAFFIC,
        )

    def refresh_kernels(self) -> list[KernelSummary]:
        """Fill the picker's ``kernels`` trait (from ``server=`` if given, else this machine's
        connection files and Jupyter servers); returns the list."""
        server, token, ca_bundle, verify = self._server
        try:
            if server is not None:
                client = JupyterServer(server, token, ca_bundle=ca_bundle, verify=verify)
                kernels = [
                    KernelSummary(
                        known.kernel_id,
                        known.connection_file,
                        known.kernel_name,
                        notebook=known.path,
                        execution_state=known.execution_state,
                        connections=known.connections,
                        last_activity=known.last_activity,
                        server_url=known.server_url,
                    )
                    for known in client.server_kernels()
                ]
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
                self._sync_traits()
                return self
            if state in ("closed", "failed"):
                break
            time.sleep(0.02)
        state, detail = self._live_status()
        raise TimeoutError(f"not connected after {timeout} s: {state}. {detail}".strip())

    def _live_status(self) -> tuple[str, str]:
        if self._capture is None:
            return self.status, self.status_detail
        return self._capture.state, self._capture.detail

    @property
    def stats(self) -> dict[str, Any]:
        """Counts: captured (also as ``total``), by_type, by_channel, lost, evicted, bad_signature,
        malformed, restarts, and whether loss detection works for this kernel."""
        stats = self._log.stats()
        stats["total"] = stats["captured"]
        capture = self._capture
        stats["restarts"] = capture.restarts if capture else 0
        stats["loss_detection"] = capture.loss.text if capture else "waiting"
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
        if self._capture is not None:
            self._capture.close()
        flusher = getattr(self, "_flusher", None)
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(2)
        self.status = "closed"
        self.status_detail = reason
        super().close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- to the view ----------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while not self._closed.wait(FLUSH_INTERVAL):
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
            self._close(
                f"closed itself: no view showed it for {grace:g} s (its cell was deleted "
                "or its output cleared); Monitor(..., close_after_hidden=None) keeps it"
            )
            return
        self._sync_traits()
        if self._streaming:
            self._send_new_rows()

    def _sync_traits(self) -> None:
        """Copy the capture's state and the log's counters into traits, when they changed."""
        capture = self._capture
        if capture is None:
            return
        with self._sync_lock:
            self._sync_traits_locked(capture)

    def _sync_traits_locked(self, capture: Capture | RemoteCapture) -> None:
        stats = self._log.stats()
        problems = stats["bad_signature"] + stats["malformed"] + stats["evicted"]
        key = (id(capture), capture.changes, self._log.last_seq, problems, stats["lost"])
        if key != self._synced:
            self._synced = key
            with self.hold_sync():
                self.status = capture.state
                self.status_detail = capture.detail
                self.connection = capture.connection()
                if capture.kernel_info is not None and capture.kernel_info != self.kernel_info:
                    self.kernel_info = capture.kernel_info
                self.counters = self._counters()

    def _counters(self) -> dict[str, Any]:
        stats = self.stats
        return {
            name: stats[name]
            for name in (
                "captured",
                "lost",
                "loss_detection",
                "evicted",
                "bad_signature",
                "malformed",
                "restarts",
                "by_type",
                "by_channel",
            )
        } | {"bytes": stats["held_bytes"]}

    def _send_new_rows(self) -> None:
        with self._send_lock:
            entries = self._log.entries_after(self._sent_seq, _ROWS_PER_SEND, oldest=True)
            if not entries:
                return
            own = self._own_requests()
            self.send({"kind": "rows"}, [orjson.dumps([row(e, own) for e in entries])])
            self._sent_seq = entries[-1].seq

    def _send_older(self, request_id: object, content: dict[str, Any]) -> None:
        """Answer an ``older`` request: the rows below ``before`` that pass the view's filters,
        newest first until a page is found, the log's oldest is reached, or time is up."""
        before, above = content.get("before"), content.get("above", -1)
        if not isinstance(before, int) or not isinstance(above, int):
            raise TypeError("an older request needs integer 'before' and 'above'")
        filters = content.get("filters")
        own = self._own_requests()
        keep = row_filter(filters if isinstance(filters, dict) else {}, own)
        found: list[Entry] = []
        cursor, done = before, False
        deadline = time.monotonic() + _OLDER_SECONDS
        while len(found) < OLDER_ROWS and not done and time.monotonic() < deadline:
            chunk = self._log.entries_before(cursor, _OLDER_CHUNK)
            done = len(chunk) < _OLDER_CHUNK
            for entry in reversed(chunk):
                if entry.seq <= above:
                    done = True
                    break
                cursor = entry.seq
                if keep(entry):
                    found.append(entry)
                    if len(found) == OLDER_ROWS:
                        break
        done = done and len(found) < OLDER_ROWS  # a full page may stop short of the start
        rows = orjson.dumps([row(e, own) for e in reversed(found)])
        answer = {"kind": "older", "id": request_id, "next": cursor, "done": done}
        self.send(answer, [rows])

    def _own_requests(self) -> set[str]:
        return self._capture.own_requests if self._capture is not None else set()

    def _on_view_message(self, _widget: object, content: Any, _buffers: list[bytes]) -> None:
        try:
            self._answer(content)
        except Exception as exc:  # answer with an error, never raise into the kernel
            log.exception("jpf_widget: could not answer the view")
            request_id = content.get("id") if isinstance(content, dict) else None
            self.send({"kind": "error", "id": request_id, "message": str(exc)})

    def _answer(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind, request_id = content.get("kind"), content.get("id")
        if kind == "views":
            no_view = content.get("count") == 0
            self._hidden_since = time.monotonic() if no_view else None
            return
        if kind == "history":  # sent by every view as it renders
            self._hidden_since = None
            with self._send_lock:
                entries = self._log.entries_after(-1, max(1, self.window_rows))
                own = self._own_requests()
                rows = orjson.dumps([row(e, own) for e in entries])
                self.send({"kind": "history", "id": request_id, "total": len(entries)}, [rows])
                if not self._streaming:
                    self._sent_seq = entries[-1].seq if entries else -1
                    self._streaming = True
        elif kind == "bodies":
            seqs = [s for s in content.get("seqs", []) if isinstance(s, int)]
            messages = [e for e in self._log.by_seq(seqs) if isinstance(e, Message)]
            self.send({"kind": "bodies", "id": request_id}, [encode_bodies(messages)])
        elif kind == "older":
            self._send_older(request_id, content)
        elif kind == "refresh":
            self.refresh_kernels()
            self.send({"kind": "refreshed", "id": request_id})
        elif kind == "attach" and isinstance(content.get("target"), str):
            server, token, ca_bundle, verify = self._server
            self.attach(
                content["target"], server=server, token=token, ca_bundle=ca_bundle, verify=verify
            )
            if self.status == "failed":
                self.send({"kind": "error", "id": request_id, "message": self.status_detail})
            else:
                self.send({"kind": "attached", "id": request_id})
        else:
            self.send({"kind": "error", "id": request_id, "message": f"unknown request {kind!r}"})
