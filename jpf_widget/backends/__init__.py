"""Back ends: the connection to one kernel, and what the widget knows of it.

:func:`open_backend` turns what the user typed into the back end that can reach it:

- a connection file here (a kernel id, an id prefix, a path): :class:`ZmqBackend`, or
  :class:`TapBackend` when the file says a tap is in front of the kernel;
- ``server=`` (a URL), or a notebook whose kernel has no connection file on this machine:
  :class:`WebsocketBackend`, through that Jupyter server;
- ``recording=True``: ``target`` is a trace file, replayed by :class:`ReplayBackend`.

Every back end is a :class:`Backend`; the widget names no other class.
"""

from __future__ import annotations

import os

from ..kernels import ConnectionInfo, resolve
from ..log import MessageLog
from ..servers import JupyterServer
from ..tap import tap_info
from .base import STATES, Backend, CaptureMode, ViewTraffic
from .replay import REPLAY, ReplayBackend
from .tap import TapBackend
from .websocket import WebsocketBackend
from .zmq import ZmqBackend

__all__ = [
    "REPLAY",
    "STATES",
    "Backend",
    "CaptureMode",
    "ReplayBackend",
    "TapBackend",
    "ViewTraffic",
    "WebsocketBackend",
    "ZmqBackend",
    "open_backend",
]


def open_backend(
    target: str,
    log: MessageLog,
    *,
    runtime_dir: str | os.PathLike[str] | None = None,
    server: str | None = None,
    token: str | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    verify: bool = True,
    view_traffic: ViewTraffic | None = None,
    recording: bool = False,
) -> Backend:
    """The back end for ``target``, not yet started; with ``recording``, ``target`` is a trace
    file to replay (its :meth:`~Backend.start` reads it into ``log``).

    Raises
    ------
    TargetError
        the target names no kernel that can be reached (the message says what to do).
    OSError, TraceError
        with ``recording``: the file cannot be read, or is not a trace.
    """
    if recording:
        return ReplayBackend(target, log)
    if server is not None:
        return WebsocketBackend.connect(
            target,
            log,
            server=server,
            token=token,
            ca_bundle=os.fspath(ca_bundle) if ca_bundle is not None else None,
            verify=verify,
            view_traffic=view_traffic,
        )
    found = resolve(target, runtime_dir)
    if isinstance(found, ConnectionInfo):
        tap = tap_info(found.connection_file) if found.connection_file else None
        if tap is not None:
            return TapBackend(found, tap, log, view_traffic=view_traffic)
        return ZmqBackend(found, log, view_traffic=view_traffic)
    # a notebook whose kernel has no connection file here: through its server's websocket
    return WebsocketBackend.connect(
        found.kernel_id,
        log,
        server=JupyterServer(found.server_url, runtime_dir=runtime_dir),
        view_traffic=view_traffic,
    )
