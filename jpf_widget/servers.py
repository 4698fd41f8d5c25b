"""Jupyter servers: find the running ones, ask them for their kernels, name kernels by notebook.

A Jupyter server writes a *server file* into the runtime dir while it runs
(``jpserver-<pid>.json``; the classic notebook server wrote ``nbserver-<pid>.json``)::

    {"base_url": "/", "hostname": "127.0.0.1", "password": false, "pid": 2774, "port": 8888,
     "root_dir": "/home/me/work", "secure": false, "sock": "", "token": "8c1e...",
     "url": "http://127.0.0.1:8888/", "version": "2.21.1"}

Its REST API answers with the kernels and the sessions (a session ties a kernel to a notebook)::

    GET {base}api                  -> {"version": "2.21.1"}            (no token needed)
    GET {base}api/kernels          -> [{"id": "1b2c...", "name": "python3",
                                        "last_activity": "2026-11-29T16:11:16.5Z",
                                        "execution_state": "idle", "connections": 1}]
    GET {base}api/kernels/{id}     -> one of those, or 404
    GET {base}api/sessions         -> [{"id": "...", "path": "analysis.ipynb", "type": "notebook",
                                        "name": "analysis.ipynb", "kernel": {"id": "1b2c...", ...}}]

Every request carries ``Authorization: token <token>``. The token is given, read from a server
file, or taken from the ``JUPYTER_TOKEN`` environment variable; it is held by
:class:`JupyterServer` and never appears in a ``repr``, a log line or an error message.
Failures raise :class:`~jpf_widget.kernels.TargetError` subclasses whose message says what to do.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from jupyter_core.paths import jupyter_runtime_dir

from .errors import AmbiguousKernelError, KernelNotFoundError, TargetError
from .procs import process_exists

__all__ = [
    "TOKEN_ENV",
    "HTTPStatusError",
    "JupyterServer",
    "NotAJupyterServerError",
    "ServerAuthError",
    "ServerError",
    "ServerInfo",
    "ServerKernel",
    "ServerTLSError",
    "ServerUnreachableError",
    "find_by_notebook",
    "match_kernel",
    "running_servers",
    "server_kernels",
]

TOKEN_ENV = "JUPYTER_TOKEN"
_SERVER_FILES = ("jpserver-*.json", "nbserver-*.json")


class ServerError(TargetError):
    """A Jupyter server could not be used; the message says what to do."""


class ServerAuthError(ServerError, PermissionError):
    """The server answered 403: a missing or wrong token, a blocked origin or a missing xsrf."""


class ServerUnreachableError(ServerError, ConnectionError):
    """Nothing answers at the server's address (refused, unknown host, timed out)."""


class HTTPStatusError(ServerError):
    """The server answered with an HTTP error status (``code``, and its ``message``)."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"HTTP {code} {reason}: {message}")
        self.code, self.reason, self.message = code, reason, message


class ServerTLSError(ServerError):
    """The server's TLS certificate could not be verified."""


class NotAJupyterServerError(ServerError):
    """Something answers at the URL, but not a Jupyter server's API (a wrong base URL)."""


@dataclass(frozen=True)
class ServerInfo:
    """A running server, as its server file describes it (``token`` is never shown)."""

    url: str
    token: str = field(default="", repr=False)
    root_dir: str = ""
    pid: int = 0
    version: str = ""
    runtime_dir: str = ""


@dataclass(frozen=True)
class ServerKernel:
    """A kernel that a server runs, with the notebook its session names (``path``, or "")."""

    kernel_id: str
    kernel_name: str
    path: str
    execution_state: str
    connections: int
    last_activity: str
    server_url: str
    connection_file: str = ""


class JupyterServer:
    """A small client for one server's REST API.

    Parameters
    ----------
    url : str
        The server's base URL, ``http(s)://host:port/base/``. A ``?token=...`` in it is taken
        as the token and dropped from the URL.
    token : str, optional
        The server's token. None means, in this order: a ``?token=`` in ``url``, the
        ``JUPYTER_TOKEN`` environment variable, the token in this machine's server file for
        that URL (in ``runtime_dir``), or none.
    ca_bundle : str or PathLike, optional
        A PEM file of the certificate authorities to trust for ``https`` (a self-signed
        server's own certificate, or a private CA); the system's are used otherwise.
    verify : bool
        Verify TLS certificates (only for a server one trusts by other means should it be off).
    timeout : float
        Seconds to wait for each answer.
    runtime_dir : str or PathLike, optional
        Where to look for local server files (default: Jupyter's runtime dir).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        ca_bundle: str | os.PathLike[str] | None = None,
        verify: bool = True,
        timeout: float = 5.0,
        runtime_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NotAJupyterServerError(
                f"{_without_query(url)!r} is not a server URL: give http(s)://host:port/base/, "
                "e.g. http://127.0.0.1:8888/ (`jupyter server list` shows the running ones)."
            )
        query = urllib.parse.parse_qs(parts.query)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        if token is None:
            token = query["token"][0] if "token" in query else os.environ.get(TOKEN_ENV, "")
        if not token:
            token = next((s.token for s in running_servers(runtime_dir) if s.url == self.url), "")
        self.ca_bundle = os.fspath(ca_bundle) if ca_bundle is not None else None
        self.verify = verify
        self.timeout = timeout
        self._token = token
        self._ssl = self._make_ssl_context() if self.secure else None

    def __repr__(self) -> str:
        return f"JupyterServer({self.url!r}, token={'set' if self._token else 'none'})"

    @classmethod
    def from_info(cls, info: ServerInfo, timeout: float = 2.0) -> JupyterServer:
        """A client for a server found in the runtime dir, with that server's token."""
        return cls(info.url, info.token, timeout=timeout)

    # -- what the websocket side needs ----------------------------------------------------------

    @property
    def secure(self) -> bool:
        return self.url.startswith("https:")

    def headers(self) -> dict[str, str]:
        """The request headers, with the token (for the websocket handshake; never log them)."""
        return {"Authorization": f"token {self._token}"} if self._token else {}

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for ``https`` (None for ``http``)."""
        return self._ssl

    def _make_ssl_context(self) -> ssl.SSLContext:
        if self.ca_bundle is not None and not Path(self.ca_bundle).is_file():
            raise ServerTLSError(f"ca_bundle {self.ca_bundle} is not a file: give a PEM file.")
        try:
            context = ssl.create_default_context(cafile=self.ca_bundle)
        except ssl.SSLError as exc:
            raise ServerTLSError(
                f"ca_bundle {self.ca_bundle} holds no usable certificate ({exc.reason}): "
                "give a PEM file of CA certificates."
            ) from None
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def ws_url(self, path: str) -> str:
        """``path`` under the base URL, with ``ws``/``wss`` for ``http``/``https``."""
        return "ws" + self.url.removeprefix("http") + path

    # -- the REST API ---------------------------------------------------------------------------

    def get(self, path: str) -> Any:
        """GET ``{base}{path}`` and parse the JSON answer.

        Raises
        ------
        ServerAuthError, ServerUnreachableError, ServerTLSError, NotAJupyterServerError
            with what to do; :class:`HTTPStatusError` for other statuses (404 included), for
            the caller to explain.
        """
        request = urllib.request.Request(self.url + path, headers=self.headers())
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self.ssl_context()
            ) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            try:
                status = HTTPStatusError(exc.code, exc.reason, _error_message(exc))
            finally:
                exc.close()  # it holds the response's socket
            if status.code == 403:
                raise self._forbidden(status.message) from None
            raise status from None
        except urllib.error.URLError as exc:
            raise self._unreachable(exc.reason) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise self._not_jupyter("answers, but not with JSON") from None

    def check(self) -> str:
        """Make sure a Jupyter server answers at the URL and takes the token; its version."""
        try:
            about = self.get("api")
        except HTTPStatusError as exc:
            raise self._not_jupyter(f"answers {exc.code} for {self.url}api") from None
        if not isinstance(about, dict) or "version" not in about:
            raise self._not_jupyter(f"answers {self.url}api without a version")
        self.kernels()  # the version needs no token: this does
        return str(about["version"])

    def kernels(self) -> list[dict[str, Any]]:
        """The kernels the server runs (their models)."""
        return self._list("api/kernels")

    def sessions(self) -> list[dict[str, Any]]:
        """The server's sessions (kernel and notebook path)."""
        return self._list("api/sessions")

    def kernel(self, kernel_id: str) -> dict[str, Any]:
        """One kernel's model.

        Raises
        ------
        KernelNotFoundError
            listing the kernels the server has.
        """
        try:
            model = self.get(f"api/kernels/{urllib.parse.quote(kernel_id)}")
        except HTTPStatusError as exc:
            if exc.code == 404:
                raise KernelNotFoundError(
                    f"the server at {self.url} has no kernel {kernel_id}. "
                    + _listing(self.server_kernels())
                ) from None
            raise self._http_error(exc, f"api/kernels/{kernel_id}") from None
        if not isinstance(model, dict):
            raise self._not_jupyter("answers a kernel's model with something else")
        return model

    def server_kernels(
        self, runtime_dir: str | os.PathLike[str] | None = None
    ) -> list[ServerKernel]:
        """The server's kernels, each with the notebook path of its session (if any).

        ``runtime_dir`` is where the server writes its connection files, when it is local.
        """
        paths: dict[str, str] = {}
        for model in self.sessions():
            kernel = model.get("kernel") or {}
            path = model.get("path") or (model.get("notebook") or {}).get("path") or ""
            if kernel.get("id") and path:
                paths.setdefault(str(kernel["id"]), str(path))
        folder = Path(runtime_dir) if runtime_dir is not None else None
        found = []
        for model in self.kernels():
            kernel_id = str(model.get("id", ""))
            connection_file = folder / f"kernel-{kernel_id}.json" if folder else None
            found.append(
                ServerKernel(
                    kernel_id=kernel_id,
                    kernel_name=str(model.get("name", "")),
                    path=paths.get(kernel_id, ""),
                    execution_state=str(model.get("execution_state", "")),
                    connections=int(model.get("connections", 0) or 0),
                    last_activity=str(model.get("last_activity", "")),
                    server_url=self.url,
                    connection_file=(
                        str(connection_file)
                        if connection_file is not None and connection_file.is_file()
                        else ""
                    ),
                )
            )
        return found

    def _list(self, path: str) -> list[dict[str, Any]]:
        try:
            answer = self.get(path)
        except HTTPStatusError as exc:
            raise self._http_error(exc, path) from None
        if not isinstance(answer, list):
            raise self._not_jupyter(f"answers {self.url}{path} with something else than a list")
        return [item for item in answer if isinstance(item, dict)]

    # -- errors that say what to do -------------------------------------------------------------

    def _http_error(self, exc: HTTPStatusError, path: str) -> ServerError:
        if exc.code == 404:
            return self._not_jupyter(f"answers 404 for {self.url}{path}")
        return ServerError(f"the server at {self.url} answered {exc.code} {exc.reason}.")

    def _forbidden(self, message: str) -> ServerAuthError:
        message = message.lower()
        if "xsrf" in message:
            why = (
                "the request was not token-authenticated and lacks an _xsrf cookie: "
                f"pass the server's token (token=... or ${TOKEN_ENV})."
            )
        elif "origin" in message or "referer" in message:
            why = (
                "it blocked the request's origin: start the server with "
                "--ServerApp.allow_origin set to where the monitor runs, or reach it by the "
                "host name it serves."
            )
        elif not self._token:
            why = (
                f"it needs a token: pass token=... or set ${TOKEN_ENV} "
                "(`jupyter server list` shows the running servers' URLs with their tokens)."
            )
        else:
            why = (
                "it refused the token: it is wrong or expired. Pass the server's token "
                f"(token=... or ${TOKEN_ENV}; `jupyter server list` shows them)."
            )
        return ServerAuthError(f"the server at {self.url} answered 403 Forbidden: {why}")

    def _unreachable(self, reason: object) -> ServerError:
        host = urllib.parse.urlsplit(self.url).netloc
        if isinstance(reason, ssl.SSLCertVerificationError):
            return ServerTLSError(
                f"TLS certificate verification failed for {self.url} "
                f"({reason.verify_message}): "
                + (
                    f"the CA bundle {self.ca_bundle} did not sign it."
                    if self.ca_bundle
                    else "pass ca_bundle='/path/to/ca.pem' with the certificate authority "
                    "that signed the server's certificate (its own certificate, if self-signed)."
                )
            )
        if isinstance(reason, ssl.SSLError):
            return ServerTLSError(
                f"TLS with {self.url} failed ({reason.reason or reason}): "
                "does the server speak https on that port? Use http:// if it does not."
            )
        if isinstance(reason, ConnectionRefusedError):
            return ServerUnreachableError(
                f"connection refused at {host}: no server listens there. Is the Jupyter server "
                "running, and on that port (`jupyter server list`)?"
            )
        if isinstance(reason, TimeoutError | socket.timeout):
            return ServerUnreachableError(
                f"the server at {self.url} did not answer in {self.timeout:g} s: "
                "is the host reachable, and the port right?"
            )
        if isinstance(reason, socket.gaierror):
            return ServerUnreachableError(f"unknown host in {self.url}: check the server URL.")
        if isinstance(reason, http.client.HTTPException | ConnectionResetError):
            return self._not_jupyter(
                "does not speak HTTP as expected (an https server reached with http://?)"
            )
        return ServerUnreachableError(f"cannot reach the server at {self.url}: {reason}.")

    def _not_jupyter(self, what: str) -> NotAJupyterServerError:
        return NotAJupyterServerError(
            f"{self.url} {what}: it does not look like a Jupyter server's base URL. "
            "Give the URL the server prints (with its base path, e.g. "
            "https://hub.example.org/user/me/), without /lab or /tree."
        )


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _listing(kernels: Iterable[ServerKernel]) -> str:
    kernels = list(kernels)
    if not kernels:
        return "It runs no kernels."
    lines = "\n".join(
        f"  {k.kernel_id}  {k.kernel_name}  {k.path or '(no notebook)'}  {k.execution_state}"
        for k in kernels[:20]
    )
    more = f"\n  ... and {len(kernels) - 20} more" if len(kernels) > 20 else ""
    return f"Its kernels:\n{lines}{more}"


# -- discovery ------------------------------------------------------------------------------------


def running_servers(runtime_dir: str | os.PathLike[str] | None = None) -> list[ServerInfo]:
    """The servers whose server files are in the runtime dir and whose process is alive.

    Servers on a Unix socket (``sock``) are left out: they have no URL to reach.
    """
    folder = Path(runtime_dir) if runtime_dir is not None else Path(jupyter_runtime_dir())
    found: dict[str, ServerInfo] = {}
    for pattern in _SERVER_FILES:
        for path in sorted(folder.glob(pattern)):
            try:
                data = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            if not isinstance(data, dict) or data.get("sock") or not data.get("url"):
                continue
            pid = data.get("pid")
            if isinstance(pid, int) and not process_exists(pid):
                continue  # a server that crashed leaves its file behind
            url = str(data["url"])
            found.setdefault(
                url,
                ServerInfo(
                    url=url,
                    token=str(data.get("token", "")),
                    root_dir=str(data.get("root_dir") or data.get("notebook_dir") or ""),
                    pid=pid if isinstance(pid, int) else 0,
                    version=str(data.get("version", "")),
                    runtime_dir=str(folder),
                ),
            )
    return list(found.values())


def server_kernels(
    runtime_dir: str | os.PathLike[str] | None = None, timeout: float = 2.0
) -> list[ServerKernel]:
    """The kernels of every running server on this machine, with their notebook paths.

    A server that does not answer (or refuses its own token) is skipped quietly: its file may
    outlive it, or belong to a server that another user runs.
    """
    found: list[ServerKernel] = []
    for info in running_servers(runtime_dir):
        server = JupyterServer.from_info(info, timeout)
        try:
            found.extend(server.server_kernels(info.runtime_dir))
        except ServerError:
            continue
    return found


def match_kernel(target: str, kernels: list[ServerKernel], where: str) -> ServerKernel:
    """The one kernel that ``target`` names: a kernel id, a unique id prefix, a notebook path
    (``work/analysis.ipynb``), a path's tail or a unique notebook file name (``analysis.ipynb``
    or ``analysis``).

    Raises
    ------
    AmbiguousKernelError
        listing the candidates.
    KernelNotFoundError
        listing the kernels and their notebooks (``where`` says where they were looked for).
    """
    text = target.strip()
    for rule in (_exact_id, _id_prefix, _exact_path, _path_tail, _file_name, _stem):
        matches = {k.kernel_id + k.server_url: k for k in kernels if rule(text, k)}
        if len(matches) == 1:
            return next(iter(matches.values()))
        if len(matches) > 1:
            listing = "\n".join(
                f"  {k.path or '(no notebook)'}  {k.kernel_id}  {k.server_url}"
                for k in matches.values()
            )
            raise AmbiguousKernelError(
                f"{text!r} names {len(matches)} kernels; give the notebook's full path "
                f"or the kernel id:\n{listing}"
            )
    raise KernelNotFoundError(
        f"no kernel or notebook matches {text!r} {where}: give a kernel id, a notebook path "
        f"or a unique notebook name. {_listing(kernels)}"
    )


def _exact_id(text: str, kernel: ServerKernel) -> bool:
    return kernel.kernel_id == text


def _id_prefix(text: str, kernel: ServerKernel) -> bool:
    return len(text) >= 4 and kernel.kernel_id.startswith(text)


def _exact_path(text: str, kernel: ServerKernel) -> bool:
    return bool(kernel.path) and kernel.path.strip("/") == text.strip("/")


def _path_tail(text: str, kernel: ServerKernel) -> bool:
    return "/" in text and kernel.path.endswith("/" + text.strip("/"))


def _file_name(text: str, kernel: ServerKernel) -> bool:
    return bool(kernel.path) and PurePosixPath(kernel.path).name == text


def _stem(text: str, kernel: ServerKernel) -> bool:
    return bool(kernel.path) and PurePosixPath(kernel.path).stem == text


def find_by_notebook(
    name: str,
    runtime_dir: str | os.PathLike[str] | None = None,
    kernels: list[ServerKernel] | None = None,
) -> ServerKernel:
    """The kernel of the notebook ``name`` (a path or a unique file name), on any running
    server of this machine (or among ``kernels``).

    Raises
    ------
    AmbiguousKernelError, KernelNotFoundError
        listing the candidates, or the sessions there are.
    """
    if kernels is None:
        kernels = server_kernels(runtime_dir)
    if not kernels:
        raise KernelNotFoundError(
            f"no notebook matches {name!r}: no running Jupyter server was found "
            f"(no jpserver-*.json that answers in {runtime_dir or jupyter_runtime_dir()}). "
            "For a remote server, pass server='https://host:port/base/' and token=..."
        )
    return match_kernel(name, kernels, "on this machine's Jupyter servers")
