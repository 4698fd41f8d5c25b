"""Real JupyterLab 4 / Notebook 7 servers driven by Debian's Chromium through Playwright.

Recipe (see the shared FACTS): Chromium from ``/usr/bin/chromium`` (never ``playwright
install``), a server per test module on 127.0.0.1 with a free port, a token and its own config,
data, runtime, settings and workspaces dirs; the news toast silenced; notebooks written with a
``kernelspec``; the first cell run only once ``/api/sessions`` shows the kernel idle and
connected; every wait is on a condition, never a fixed sleep.

The kernels a server starts inherit its environment, so the monitor notebook's kernel finds the
target kernel's ``kernel-<id>.json`` in the same (isolated) runtime dir. The lab extensions
(anywidget, ipywidgets) stay visible: they live in ``sys.prefix/share/jupyter``, which is on the
data path whatever ``JUPYTER_DATA_DIR`` says.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    expect,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT = 60.0
KERNEL_READY_TIMEOUT = 60.0
UI_TIMEOUT = 30_000  # ms, for Playwright waits

# Browser errors that are not failures of ours: (message pattern, pattern the stack or source
# URL must match too). Keep this list short and say why each one is here.
HARMLESS_ERRORS: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    # Notebook 7.6.5 throws this on opening ANY notebook (a plain `print(1)` one too, before any
    # widget exists), from its keyboard-shortcuts settings plugin reacting to `pluginChanged`
    # for a plugin it has no schema for; the stack is entirely inside notebook_core.*.js.
    (
        re.compile(r"^Cannot read properties of undefined \(reading 'schema'\)$"),
        re.compile(r"/static/notebook/notebook_core\.[0-9a-f]+\.js"),
    ),
]


def harmless(message: str, where: str) -> bool:
    return any(m.search(message) and w.search(where) for m, w in HARMLESS_ERRORS)


# ------------------------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tiny_png(width: int = 24, height: int = 24) -> str:
    """A small valid PNG (an orange square with a blue diagonal), base64."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        raw = kind + data
        return struct.pack(">I", len(data)) + raw + struct.pack(">I", zlib.crc32(raw))

    rows = b""
    for y in range(height):
        rows += b"\x00" + b"".join(
            (b"\x20\x40\xe0" if abs(x - y) <= 1 else b"\xf0\x90\x20") for x in range(width)
        )
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


# ------------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A running Jupyter server (``lab`` or ``notebook``) with isolated dirs."""

    kind: str
    url: str
    token: str
    root: Path
    runtime_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    kernels: dict[int, psutil.Process] = field(default_factory=dict)

    # -- REST
    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/sessions"))

    def wait_kernel_ready(self, path: str, timeout: float = KERNEL_READY_TIMEOUT) -> str:
        """Wait until the notebook at ``path`` has a kernel that is idle with a browser
        connected (otherwise the first run is silently dropped); returns the kernel id."""

        def ready() -> str | None:
            for s in self.sessions():
                kernel = s.get("kernel") or {}
                if (
                    s.get("path") == path
                    and kernel.get("execution_state") == "idle"
                    and kernel.get("connections", 0) >= 1
                ):
                    return str(kernel["id"])
            return None

        kernel_id = wait_until(ready, timeout, f"{path}'s kernel idle and connected")
        self.remember_kernels()
        return str(kernel_id)

    def remember_kernels(self) -> None:
        """Note the server's kernels, to be sure none outlive the server. (psutil.Process
        objects, not bare pids: they refuse to kill a process that merely reuses a pid.)"""
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        self.kernels.update({c.pid: c for c in children})

    # -- notebooks
    def write_notebook(
        self,
        name: str,
        cells: list[str],
        kernel: str = "python3",
        display_name: str = "Python 3 (ipykernel)",
    ) -> str:
        """Write ``name`` (relative to the server's root) with these code cells, on kernelspec
        ``kernel``; returns the path the server knows it by."""
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(src) for src in cells],
            metadata={
                "kernelspec": {
                    "name": kernel,
                    "display_name": display_name,
                    "language": "python",
                },
                "language_info": {"name": "python"},
            },
        )
        nbformat.write(nb, self.root / name)
        return name

    def notebook_url(self, path: str, workspace: str = "") -> str:
        if self.kind == "notebook":
            return f"{self.url}/notebooks/{path}?token={self.token}"
        ws = f"/workspaces/{workspace}" if workspace else ""
        return f"{self.url}/lab{ws}/tree/{path}?token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- lifecycle
    def stop(self) -> None:
        """Shut down: the REST shutdown (which stops the kernels), then terminate, then kill;
        finally any kernel we saw that is still alive is killed, by its process."""
        self.remember_kernels()
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "/api/shutdown", timeout=5)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        for child in self.kernels.values():
            try:
                child.kill()
                child.wait(5)
            except (psutil.NoSuchProcess, psutil.TimeoutExpired):
                pass
        # kernels started by kernels (the demo's second kernel) are not the server's children
        kill_processes_using(self.runtime_dir)


def kill_processes_using(folder: Path) -> list[int]:
    """Kill the processes whose command line names ``folder`` (a temporary dir of this test
    run: kernels started with a connection file in it); returns their pids."""
    needle = str(folder)
    killed = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(needle in arg for arg in proc.info["cmdline"] or []):
                proc.kill()
                proc.wait(5)
                killed.append(proc.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.TimeoutExpired):
            pass
    return killed


def isolated_env(base: Path) -> dict[str, str]:
    """Environment for one server: its own Jupyter dirs, the news toast silenced."""
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
        "IPYTHONDIR": base / "ipython",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    notification = dirs["JUPYTERLAB_SETTINGS_DIR"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = dict(os.environ)
    env.update({k: str(v) for k, v in dirs.items()})
    env["PYTHONUNBUFFERED"] = "1"
    # The kernels must be this venv's python: the python3 kernelspec says "python", which
    # jupyter_client replaces by the server's own sys.executable. Make PATH agree anyway.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_server(kind: str, base: Path, env: dict[str, str] | None = None) -> Server:
    """Start ``jupyter lab`` or ``jupyter notebook`` and wait (HTTP poll) until it answers.

    ``env``: more environment for the server (and so its kernels), e.g. ``JUPYTER_PATH``
    naming a prefix's ``share/jupyter`` where more kernelspecs are installed."""
    base.mkdir(parents=True, exist_ok=True)
    root = base / "notebooks"
    root.mkdir(exist_ok=True)
    env = {**isolated_env(base), **(env or {})}
    port = free_port()
    token = secrets.token_hex(16)
    module = "jupyterlab" if kind == "lab" else "notebook"
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.terminals_enabled=False",
        "--LanguageServerManager.autodetect=False",
    ]
    log_path = base / f"{kind}-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = Server(
        kind=kind,
        url=f"http://127.0.0.1:{port}",
        token=token,
        root=root,
        runtime_dir=Path(env["JUPYTER_RUNTIME_DIR"]),
        log_path=log_path,
        proc=proc,
    )

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"{kind} server exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status", timeout=2)
        except (OSError, urllib.error.URLError):
            return False
        return True

    try:
        wait_until(answers, SERVER_START_TIMEOUT, f"the {kind} server on port {port}", 0.2)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server("lab", tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server("notebook", tmp_path_factory.mktemp("nb7"))
    yield server
    server.stop()


# ------------------------------------------------------------------------------- browser


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Front:
    """One browser context for a test, with its pages' console errors collected."""

    context: BrowserContext
    errors: list[str] = field(default_factory=list)

    def new_page(self, name: str) -> Page:
        page = self.context.new_page()
        page.set_default_timeout(UI_TIMEOUT)

        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            where = msg.location.get("url", "") if msg.location else ""
            if not harmless(msg.text, where):
                self.errors.append(f"[{name}] console.error: {msg.text} ({where})")

        def on_page_error(exc: Any) -> None:
            stack = str(getattr(exc, "stack", "") or "")
            if not harmless(str(getattr(exc, "message", exc)), stack):
                self.errors.append(f"[{name}] uncaught: {exc}\n{stack}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        return page

    def check_console(self) -> None:
        assert not self.errors, "browser console errors:\n" + "\n".join(self.errors)


@pytest.fixture
def front(browser: Browser, request: pytest.FixtureRequest, screenshots: Path) -> Iterator[Front]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    result = Front(context)
    yield result
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # keep what the pages showed when it failed
        for n, page in enumerate(context.pages):
            with contextlib.suppress(Exception):
                page.screenshot(path=str(screenshots / f"FAILED-{request.node.name}-{n}.png"))
        if result.errors:
            print("browser errors:\n" + "\n".join(result.errors))
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


_SHOTS: list[Path] = []


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the scenarios' PNGs go: $JPF_SCREENSHOTS, else a fresh temporary folder."""
    folder = Path(os.environ.get("JPF_SCREENSHOTS") or tempfile.mkdtemp(prefix="jpf-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    _SHOTS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in _SHOTS:
        terminalreporter.write_line(f"jpf_widget e2e screenshots: {folder}")


def shoot(page: Page, folder: Path, name: str) -> Path:
    """A full-page PNG, plus one of the monitor widget alone if there is one."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    monitor = page.locator(".jpf-monitor")
    if monitor.count() == 1 and monitor.is_visible():
        monitor.screenshot(path=str(folder / f"{name}-widget.png"))
    return path


# ------------------------------------------------------------------------------- notebook UI


def open_notebook(front: Front, server: Server, path: str, workspace: str = "") -> Page:
    """Open a notebook in a new page and wait until its kernel is idle and connected.

    In JupyterLab each page gets a workspace of its own (by default one per notebook), so a
    page never restores notebooks that another test or page left open."""
    page = front.new_page(path)
    workspace = workspace or re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")
    page.goto(server.notebook_url(path, workspace))
    wait_notebook_ready(page, server, path)
    return page


def wait_notebook_ready(page: Page, server: Server, path: str) -> str:
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.wait_for(state="visible")
    return server.wait_kernel_ready(path)


PROMPT_DONE = re.compile(r"\[\d+\]")


def run_cell(page: Page, index: int, timeout: float = UI_TIMEOUT) -> None:
    """Run cell ``index`` through the UI and wait until it has finished (numbered prompt)."""
    page.bring_to_front()
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputArea-prompt")
    old = prompt.inner_text().strip()
    for _attempt in range(3):
        cell.locator(".cm-content").click()
        cell.locator(".cm-editor.cm-focused").wait_for()
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                "([el, old]) => el.textContent.trim() !== old",
                arg=[prompt.element_handle(), old],
                timeout=10_000,
            )
        except Exception:  # the keypress was lost (e.g. focus moved): try again
            continue
        expect(prompt).to_have_text(PROMPT_DONE, timeout=timeout)
        return
    pytest.fail(f"cell {index} did not run after 3 tries (prompt still {old!r})")


def cell_output(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")
