"""Turn what a user typed into a kernel connection, and list the kernels one can attach to.

A target is one of:

- a full kernel id (``"1b2c3d4e-..."``), looked up as ``kernel-<id>.json`` in the runtime dir;
- a unique prefix of a kernel id (``"1b2c"``);
- a connection file's name (``"kernel-1b2c....json"``) or path (``"/tmp/k.json"``).

Unlike :func:`jupyter_client.find_connection_file`, an ambiguous prefix is an error that lists
the candidates (never "the most recently used one"), and a target that matches nothing is an
error that lists the kernels that are running.

A connection file looks like this (the ``key`` never leaves this process)::

    {"shell_port": 53794, "iopub_port": 53795, "stdin_port": 53796, "control_port": 53797,
     "hb_port": 53798, "ip": "127.0.0.1", "key": "a0436f6c-1916-498b-8eb9-e81ab9368e84",
     "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "python3"}
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from jupyter_core.paths import jupyter_runtime_dir

from .errors import AmbiguousKernelError, ConnectionFileError, KernelNotFoundError, TargetError
from .servers import ServerKernel, find_by_notebook, server_kernels

__all__ = [
    "AmbiguousKernelError",
    "ConnectionFileError",
    "ConnectionInfo",
    "KernelNotFoundError",
    "KernelSummary",
    "TargetError",
    "list_kernels",
    "read_connection_file",
    "resolve",
    "resolve_target",
    "summarize",
]

KERNEL_FILE = re.compile(r"^kernel-(?P<id>.+)\.json$")
_PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
_CHANNEL_PORTS = {"shell": "shell_port", "iopub": "iopub_port", "hb": "hb_port"}


@dataclass(frozen=True)
class ConnectionInfo:
    """Where a kernel listens and how its messages are signed.

    ``key`` is excluded from ``repr`` and from :meth:`public`, which is what may be shown.
    """

    transport: str
    ip: str
    shell_port: int
    iopub_port: int
    stdin_port: int
    control_port: int
    hb_port: int
    signature_scheme: str
    key: bytes = field(repr=False)
    kernel_id: str = ""
    kernel_name: str = ""
    connection_file: str = ""

    def url(self, channel: str) -> str:
        """The ZMQ address of ``channel`` (``shell``, ``iopub`` or ``hb``)."""
        port = getattr(self, _CHANNEL_PORTS[channel])
        if self.transport == "ipc":
            return f"ipc://{self.ip}-{port}"
        return f"tcp://{self.ip}:{port}"

    @property
    def digest(self) -> str:
        """The hash name of the HMAC (``"sha256"`` for ``hmac-sha256``)."""
        return self.signature_scheme.split("-", 1)[1]

    def public(self) -> dict[str, Any]:
        """Everything about the connection that may be shown: all but the key."""
        return {
            "transport": self.transport,
            "ip": self.ip,
            **{port: getattr(self, port) for port in _PORTS},
            "signature_scheme": self.signature_scheme,
            "connection_file": self.connection_file,
            "kernel_name": self.kernel_name,
        }


@dataclass(frozen=True)
class KernelSummary:
    """A kernel that can be attached to: its id, its connection file when it is local, and
    what the Jupyter server that runs it says (notebook path, state, connections)."""

    kernel_id: str
    connection_file: str
    kernel_name: str = ""
    transport: str = ""
    ip: str = ""
    notebook: str = ""
    execution_state: str = ""
    connections: int | None = None
    last_activity: str = ""
    server_url: str = ""


def read_connection_file(path: str | os.PathLike[str], kernel_id: str = "") -> ConnectionInfo:
    """Read and validate a connection file.

    Raises
    ------
    ConnectionFileError
        naming the file and what is wrong with it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConnectionFileError(
            f"connection file {path} does not exist: is the kernel still running? "
            "list_kernels() shows the ones that are."
        ) from None
    except OSError as exc:
        raise ConnectionFileError(
            f"cannot read connection file {path}: {exc.strerror or exc}. "
            "Run the monitor as the user who started the kernel, or fix the file's permissions."
        ) from None
    try:
        info = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConnectionFileError(
            f"connection file {path} is not valid JSON ({exc}): "
            "it may be truncated or not a connection file at all."
        ) from None
    if not isinstance(info, dict):
        raise ConnectionFileError(
            f"connection file {path} holds a JSON {type(info).__name__}, not an object."
        )
    missing = [name for name in ("ip", *_PORTS) if name not in info]
    if "iopub_port" in missing or "ip" in missing:
        raise ConnectionFileError(
            f"connection file {path} lacks {', '.join(missing)}: "
            "it is not a kernel connection file, or was written only in part."
        )
    ports: dict[str, int] = {}
    for name in _PORTS:
        value = info.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 65536:
            raise ConnectionFileError(f"connection file {path}: {name} is {value!r}, not a port.")
        ports[name] = value
    transport = info.get("transport", "tcp")
    if transport not in ("tcp", "ipc"):
        raise ConnectionFileError(
            f"connection file {path}: transport {transport!r} is not supported (tcp or ipc)."
        )
    key = info.get("key", "")
    if not isinstance(key, str):
        raise ConnectionFileError(f"connection file {path}: key is not a string.")
    scheme = info.get("signature_scheme", "hmac-sha256")
    if not _valid_scheme(scheme):
        raise ConnectionFileError(
            f"connection file {path}: unknown signature_scheme {scheme!r} "
            "(expected hmac-<hash>, e.g. hmac-sha256)."
        )
    if not kernel_id:
        match = KERNEL_FILE.match(path.name)
        kernel_id = match["id"] if match else path.stem
    return ConnectionInfo(
        transport=transport,
        ip=str(info["ip"]),
        signature_scheme=scheme,
        key=key.encode(),
        kernel_id=kernel_id,
        kernel_name=str(info.get("kernel_name", "")),
        connection_file=str(path.resolve()),
        **ports,
    )


def _valid_scheme(scheme: object) -> bool:
    if not isinstance(scheme, str) or not scheme.startswith("hmac-"):
        return False
    try:  # hashlib knows shake_128, which HMAC cannot use
        hmac.new(b"key", digestmod=scheme[len("hmac-") :])
    except ValueError:
        return False
    return True


def _runtime_dir(runtime_dir: str | os.PathLike[str] | None) -> Path:
    return Path(runtime_dir) if runtime_dir is not None else Path(jupyter_runtime_dir())


def list_kernels(
    runtime_dir: str | os.PathLike[str] | None = None, servers: bool = True
) -> list[KernelSummary]:
    """The kernels one can attach to: those whose connection files are in the runtime dir
    (newest first), then those only a running Jupyter server knows of.

    With ``servers`` (the default), every Jupyter server running on this machine (its
    ``jpserver-*.json`` in the runtime dir) is asked for its sessions and kernels, which adds
    the notebook path, execution state, connections, last activity and server URL.
    A connection file that cannot be read is left out (it cannot be attached to either).
    """
    local = _connection_files(runtime_dir)
    if not servers:
        return local
    by_id = {summary.kernel_id: i for i, summary in enumerate(local)}
    merged = list(local)
    for known in server_kernels(runtime_dir):
        if known.kernel_id in by_id:
            place = by_id[known.kernel_id]
            merged[place] = summarize(known, merged[place])
        else:
            by_id[known.kernel_id] = len(merged)
            merged.append(summarize(known))
    return merged


def summarize(known: ServerKernel, local: KernelSummary | None = None) -> KernelSummary:
    """What a server says of one of its kernels, added to what its connection file says."""
    base = local or KernelSummary(known.kernel_id, known.connection_file, known.kernel_name)
    return replace(
        base,
        notebook=known.path,
        execution_state=known.execution_state,
        connections=known.connections,
        last_activity=known.last_activity,
        server_url=known.server_url,
    )


def _connection_files(runtime_dir: str | os.PathLike[str] | None) -> list[KernelSummary]:
    folder = _runtime_dir(runtime_dir)
    found: list[tuple[float, KernelSummary]] = []
    for path in folder.glob("kernel-*.json"):
        match = KERNEL_FILE.match(path.name)
        if not match:
            continue
        try:
            info = read_connection_file(path, match["id"])
            mtime = path.stat().st_mtime
        except (ConnectionFileError, OSError):
            continue
        summary = KernelSummary(
            kernel_id=info.kernel_id,
            connection_file=info.connection_file,
            kernel_name=info.kernel_name,
            transport=info.transport,
            ip=info.ip,
        )
        found.append((mtime, summary))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [summary for _, summary in found]


def resolve_target(
    target: str | os.PathLike[str], runtime_dir: str | os.PathLike[str] | None = None
) -> ConnectionInfo:
    """Turn an id, unique id prefix, connection-file name or path into a :class:`ConnectionInfo`.

    Raises
    ------
    KernelNotFoundError, AmbiguousKernelError, ConnectionFileError
        with a message that lists the running kernels or the candidates.
    """
    text = os.fspath(target).strip()
    if not text:
        raise KernelNotFoundError(_not_found("an empty target", runtime_dir))
    folder = _runtime_dir(runtime_dir)
    as_path = Path(text).expanduser()
    looks_like_path = os.sep in text or text.endswith(".json")
    if looks_like_path:
        for candidate in (as_path, folder / text):
            if candidate.is_file():
                return read_connection_file(candidate)
        if os.sep in text and not text.endswith(".ipynb"):
            raise ConnectionFileError(
                f"connection file {as_path} does not exist: is the kernel still running? "
                + _running_kernels_text(runtime_dir)
            )
    exact = folder / f"kernel-{text}.json"
    if exact.is_file():
        return read_connection_file(exact, text)
    kernels = _connection_files(folder)
    bare = KERNEL_FILE.match(text)
    prefix = bare["id"] if bare else text
    matches = [k for k in kernels if k.kernel_id.startswith(prefix)]
    if len(matches) == 1:
        return read_connection_file(matches[0].connection_file, matches[0].kernel_id)
    if len(matches) > 1:
        listing = "\n".join(f"  {k.kernel_id}  ({k.connection_file})" for k in matches)
        raise AmbiguousKernelError(
            f"{text!r} matches {len(matches)} kernels; type more of the id:\n{listing}"
        )
    raise KernelNotFoundError(_not_found(repr(text), runtime_dir))


def resolve(
    target: str | os.PathLike[str], runtime_dir: str | os.PathLike[str] | None = None
) -> ConnectionInfo | ServerKernel:
    """What ``target`` names: :func:`resolve_target`'s connection, else a notebook (a path or a
    unique name) in the sessions of this machine's Jupyter servers.

    A notebook whose kernel has a local connection file gives that file's
    :class:`ConnectionInfo` (capture then uses ZMQ); otherwise the server's
    :class:`~jpf_widget.servers.ServerKernel` (capture then uses the server's websocket).
    """
    try:
        return resolve_target(target, runtime_dir)
    except KernelNotFoundError as not_local:
        try:
            found = find_by_notebook(os.fspath(target), runtime_dir)
        except KernelNotFoundError as not_served:
            raise KernelNotFoundError(f"{not_local}\n{not_served}") from None
    if found.connection_file:
        return read_connection_file(found.connection_file, found.kernel_id)
    return found


def _running_kernels_text(runtime_dir: str | os.PathLike[str] | None) -> str:
    folder = _runtime_dir(runtime_dir)
    kernels = _connection_files(folder)
    if not kernels:
        return f"No kernels are running (no connection files in {folder})."
    listing = "\n".join(
        f"  {k.kernel_id}  {k.kernel_name}  ({k.connection_file})" for k in kernels[:20]
    )
    more = f"\n  ... and {len(kernels) - 20} more" if len(kernels) > 20 else ""
    return f"Running kernels (in {folder}):\n{listing}{more}"


def _not_found(what: str, runtime_dir: str | os.PathLike[str] | None) -> str:
    return (
        f"no kernel matches {what}: give a kernel id, a unique id prefix, "
        f"or a connection file's path. {_running_kernels_text(runtime_dir)}"
    )
