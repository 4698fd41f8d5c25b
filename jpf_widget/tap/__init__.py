"""The tap: a relay in front of a kernel that copies every message of every client to a capture
socket, so a Monitor sees shell, control and stdin traffic, not only iopub.

Turning it on
-------------
``jpf tap install [--name python3]`` writes a kernelspec ``python3-tap`` ("Python 3 (tapped)")
that launches the kernel through the ``jpf-tap`` kernel provisioner
(:mod:`~jpf_widget.tap.provisioner`); its argv also starts with the argv wrapper
(:mod:`~jpf_widget.tap.wrapper`), which taps the kernel for launchers that ignore provisioners
(VS Code). ``KernelProvisionerFactory.default_provisioner_name = "jpf-tap"`` (or
``JUPYTER_DEFAULT_PROVISIONER_NAME=jpf-tap``) taps every kernel a Jupyter server starts.

The connection file
-------------------
A tapped kernel's public connection file (``kernel-<id>.json``, what every client reads) holds
the relay's ports and one more field::

    "jpf_tap": {"version": 1,
                "url": "tcp://127.0.0.1:41234",          # the capture socket (XPUB): SUB to it
                "status_url": "tcp://127.0.0.1:41235",   # the status socket (ROUTER): REQ to it
                "pid": 4242,                             # the process that runs the relay
                "launcher": "provisioner"}               # or "wrapper"

With the ipc transport both addresses are ``ipc://`` paths in a directory only the kernel's
user can enter. :func:`tap_info` reads the field; :func:`tap_status` asks the status socket.

The capture stream
------------------
Connect a SUB socket to ``url`` (the tap binds; set ``RCVHWM`` to 0 before connecting, and
subscribe to ``b""``, or to tag prefixes such as ``b"shell"`` and ``b"tap!"``: the subscription
filters on the first frame). Every message is::

    [tag, *frames]

where ``tag`` names the channel and direction (:data:`TAGS`) and ``frames`` are the relayed
message's ZeroMQ frames, byte for byte (the signatures verify with the connection file's key):

``b"shell>"``, ``b"control>"``, ``b"stdin>"`` (client to kernel)
    ``[client_id, *more_ids, b"<IDS|MSG>", signature, header, parent_header, metadata, content,
    *buffers]``. ``client_id`` is the routing id the public ROUTER knows the client's socket by:
    the client's own ``ROUTING_ID`` when it set one (jupyter_client and jupyter_server set the
    session id, the same on shell, control and stdin), else 5 bytes libzmq made up (``b"\\0"`` and
    a counter) that change when the client reconnects. ``more_ids`` are identities the client
    itself sent (usually none).
``b"shell<"``, ``b"control<"``, ``b"stdin<"`` (kernel to client)
    The same shape: the kernel answers with the identities of the request (the relay's own
    routing id, the first one, is consumed on the way), so ``client_id`` is the ROUTER's routing
    id of the client the reply goes to, equal to the request's. ``input_request`` (``stdin<``)
    carries the identities of the shell request it belongs to.
``b"iopub<"``
    ``[*topics, b"<IDS|MSG>", signature, header, …]`` as the kernel published it (ipykernel's
    topics look like ``b"kernel.<uuid>.status"``; there may be none). Every iopub message the
    kernel sends reaches the capture, whether or not a client is subscribed.
``b"iopub>"``
    ``[b"\\x01" + topic]`` or ``[b"\\x00" + topic]``: a client subscribed or unsubscribed (the
    relay's public XPUB passes on only a topic's first subscription and its last unsubscription).
``b"tap!"`` (:data:`EVENT_TAG`)
    ``[b"tap!", json]``: the tap's own events (:func:`parse_event`), with ``"event"`` one of
    ``"hello"`` (sent when a Monitor subscribes: the subscription is in force from then on; it
    carries the full :func:`tap_status`), ``"stats"`` (counts, at most once a second while they
    change and at least every 5 s: the tap is alive), ``"kernel"`` (the kernel was launched
    again; ``"moved": true`` if on new private ports), ``"failed"`` (a relay loop died:
    ``"problems"``) and ``"closing"`` (the tap is stopping).

Splitting: everything after the tag up to ``b"<IDS|MSG>"`` is the identity envelope, the rest
the message as jupyter_client's ``Session`` reads it. A stable client id is a short hash of
``frames[0]`` for shell, control and stdin in both directions (None on iopub). Order: each
channel keeps its own order in each direction, and a request is captured before anything the
kernel sends about it on the same channel; across channels the order is only as close as
their arrival at the relay (iopub and shell are different sockets, as for any client).

Loss
----
The relay never waits for a reader: the capture drops messages when a Monitor's queue holds
``capture_hwm`` messages (10,000 by default) or when no Monitor is subscribed. libzmq counts
no drops, so the tap counts what it *relayed* instead: ``counts`` (in :func:`tap_status` and in
the ``hello`` and ``stats`` events) holds, per tag, the frames and bytes that went through the
kernel-side proxy since the tap started (over all kernel restarts), measured by libzmq's
``zmq_proxy_steerable`` ``STATISTICS``. Frames, not messages: count ``len(frames)`` after the
tag for each captured message. What a Monitor lost on a tag between two snapshots is the
difference of the counts minus the frames it received in between; it is exact when nothing was
in flight in the tap at either snapshot (e.g. after the replies to a probe of one's own arrived
on that channel), and off by the frames in flight otherwise. The events travel the capture
stream and are dropped with the rest when a Monitor falls behind; a Monitor therefore also asks
the status socket (a DEALER sending ``[b"", b"status"]``), once a second.

Health
------
``tap_status(...)["health"]`` is ``"ok"``, ``"failed"`` (with ``"problems"``: a relay loop
ended on its own; clients may no longer reach the kernel through it) or ``"stopped"``. If the
status socket does not answer, :func:`tap_status` raises :class:`TapUnavailable`, saying
whether the relay's process still exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from .connection import FIELD
from .relay import CAPTURED, EVENT_TAG, tag

__all__ = [
    "EVENT_TAG",
    "FIELD",
    "TAGS",
    "TapInfo",
    "TapUnavailable",
    "parse_event",
    "split_tag",
    "tap_info",
    "tap_status",
]

#: Each capture tag's channel and direction.
TAGS: dict[bytes, tuple[str, str]] = {
    tag(channel, to_kernel): (channel, "to_kernel" if to_kernel else "from_kernel")
    for channel in CAPTURED
    for to_kernel in (True, False)
}


class TapUnavailable(ConnectionError):
    """The tap's status socket did not answer."""


@dataclass(frozen=True)
class TapInfo:
    """The ``jpf_tap`` field of a tapped kernel's connection file."""

    url: str
    status_url: str
    pid: int | None = None
    version: int = 1
    launcher: str = ""

    def process_exists(self) -> bool | None:
        """Whether the relay's process exists (None when unknown: no pid, or not ours to ask)."""
        if self.pid is None:
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return None
        return True


def tap_info(connection: Mapping[str, Any] | str | os.PathLike[str]) -> TapInfo | None:
    """Whether a kernel is tapped, and where its tap captures.

    Parameters
    ----------
    connection:
        A connection file's path or its parsed contents.

    Returns
    -------
    TapInfo or None
        None when the connection file has no usable ``jpf_tap`` field (an untapped kernel).
    """
    if isinstance(connection, Mapping):
        info: Any = connection
    else:
        try:
            info = json.loads(Path(connection).read_text())
        except (OSError, ValueError):
            return None
    field = info.get(FIELD) if isinstance(info, Mapping) else None
    if not isinstance(field, Mapping) or not isinstance(field.get("url"), str):
        return None
    pid = field.get("pid")
    return TapInfo(
        url=field["url"],
        status_url=str(field.get("status_url", "")),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        version=int(field.get("version", 1)),
        launcher=str(field.get("launcher", "")),
    )


def tap_status(tap: TapInfo, timeout: float = 2.0) -> dict[str, Any]:
    """Ask the tap how it is: ``health``, ``problems``, ``counts`` (frames and bytes relayed
    per tag), ``kernel_launches``, ``capture_hwm``, ``pid``, ``started`` and ``time``.

    Raises
    ------
    TapUnavailable
        when no answer comes within ``timeout`` seconds.
    """
    if not tap.status_url:
        raise TapUnavailable("this tap has no status address")
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(tap.status_url)
        sock.send(b"status")
        if not sock.poll(int(timeout * 1000)):
            exists = tap.process_exists()
            where = {
                True: f"its process {tap.pid} exists but does not answer",
                False: f"its process {tap.pid} has exited",
                None: "its process is unknown",
            }[exists]
            raise TapUnavailable(
                f"the tap at {tap.status_url} did not answer in {timeout} s: {where}"
            )
        answer: dict[str, Any] = json.loads(sock.recv())
        return answer
    finally:
        sock.close()


def split_tag(frame: bytes) -> tuple[str, str] | None:
    """The channel and direction (``"to_kernel"`` or ``"from_kernel"``) a capture tag names;
    None for the tap's events (:data:`EVENT_TAG`) and anything unknown."""
    return TAGS.get(bytes(frame))


def parse_event(frames: Sequence[bytes]) -> dict[str, Any] | None:
    """A tap event (``[b"tap!", json]``) as a dict; None if ``frames`` is not one."""
    if len(frames) != 2 or bytes(frames[0]) != EVENT_TAG:
        return None
    try:
        event = json.loads(bytes(frames[1]))
    except ValueError:
        return None
    return event if isinstance(event, dict) else None
