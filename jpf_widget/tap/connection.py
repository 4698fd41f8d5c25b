"""Connection files for a tapped kernel: the private one the kernel reads, and the ``jpf_tap``
field added to the public one.

The private connection file lives in a directory of its own made with :func:`private_dir`
(mode 0700, under the system's temporary directory, never the Jupyter runtime dir): its name,
``connection.json``, is not ``kernel-*.json``, so nothing lists the real kernel as a second
kernel, and ``find_connection_file(kernel_id)`` cannot find it either. It has the public file's
key, signature scheme and kernel name, and ports of its own on 127.0.0.1 (tcp), or socket files
in the private directory (ipc).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_client.connect import write_connection_file
from jupyter_core.paths import secure_write

from .relay import PORT_NAMES

__all__ = [
    "FIELD",
    "add_tap_field",
    "fresh_ports",
    "ports_free",
    "private_dir",
    "remove_private_dir",
    "write_private_connection_file",
]

#: The public connection file's field that says the kernel is tapped.
FIELD = "jpf_tap"
PRIVATE_FILE = "connection.json"
# Where the system takes the local ports of outgoing connections (Linux)
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_PORT = 10_000  # below it, too many well-known services
_PORT_TRIES = 500


def private_dir() -> Path:
    """A new directory only this user can enter (0700) for the private connection file, the
    kernel's ipc sockets and the tap's own (short path: ipc addresses are limited to 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="jpf-tap-"))


def remove_private_dir(folder: str | os.PathLike[str] | None) -> None:
    """Remove a directory made by :func:`private_dir`, with what is left in it."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def write_private_connection_file(
    folder: Path, public: Mapping[str, Any], reuse: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Write the kernel's private connection file in ``folder``; return its path and contents.

    ``public`` gives the key, signature scheme, kernel name and transport. With ``reuse`` (the
    previous private connection info) the same ports are written again; otherwise fresh ones
    are chosen (free tcp ports on 127.0.0.1 below the system's range for outgoing connections,
    or unused socket file names for ipc).
    """
    transport = str(public.get("transport", "tcp"))
    ip = str(folder / "kernel") if transport == "ipc" else "127.0.0.1"
    key = public.get("key", b"")
    path = folder / PRIVATE_FILE
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    names = list(PORT_NAMES.values())
    if reuse:
        ports = {name: int(reuse[name]) for name in names}
    else:
        fresh = fresh_ports(ip, len(names)) if transport == "tcp" else None
        ports = dict(zip(names, fresh or [0] * len(names), strict=True))  # 0: any free port
    fname, info = write_connection_file(
        str(path),
        ip=ip,
        key=key if isinstance(key, bytes) else str(key).encode(),
        transport=transport,
        signature_scheme=str(public.get("signature_scheme", "hmac-sha256")),
        kernel_name=str(public.get("kernel_name", "")),
        shell_port=ports["shell_port"],
        iopub_port=ports["iopub_port"],
        stdin_port=ports["stdin_port"],
        control_port=ports["control_port"],
        hb_port=ports["hb_port"],
    )
    return fname, dict(info)


def fresh_ports(ip: str, count: int) -> list[int] | None:
    """``count`` distinct tcp ports free on ``ip``, chosen below the range the system takes the
    local ports of outgoing connections from; None where that range is unknown or leaves no room.

    A free port found by binding port 0 comes from that very range, and any outgoing connection
    of any process could take it in the second before the kernel, still starting, binds it
    ("Address already in use": the kernel dies). Below the range only a server binding that
    exact port could."""
    try:
        lowest_ephemeral = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if lowest_ephemeral - _LOWEST_PORT < 100 * count:
        return None
    chosen: list[int] = []
    pick = random.SystemRandom()
    for _ in range(_PORT_TRIES):
        port = pick.randrange(_LOWEST_PORT, lowest_ephemeral)
        if port not in chosen and _bindable(ip, port):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    return None


def _bindable(ip: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as libzmq binds
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def ports_free(info: Mapping[str, Any]) -> bool:
    """Whether a kernel could bind ``info``'s tcp ports now (ipc socket files are replaced when
    bound, so those are always free)."""
    if info.get("transport", "tcp") != "tcp":
        return True
    return all(_bindable(str(info["ip"]), int(info[name])) for name in PORT_NAMES.values())


def add_tap_field(path: str | os.PathLike[str], field: Mapping[str, Any]) -> None:
    """Add (or replace) the ``jpf_tap`` field of the connection file at ``path``.

    The file is replaced in one step (a new file, owner-only, renamed over the old one), so a
    client reading it meanwhile reads either version, never a part of one.
    """
    target = Path(path)
    info = json.loads(target.read_text())
    info[FIELD] = dict(field)
    fresh = target.with_name(f".{target.name}.jpf-tap")
    with secure_write(str(fresh)) as f:
        f.write(json.dumps(info, indent=2))
    os.replace(fresh, target)
