"""The argv wrapper: the tap for launchers that ignore kernel provisioners (VS Code).

Usage, as a kernelspec's argv (``jpf tap install`` writes it)::

    python -m jpf_widget.tap.wrapper -f {connection_file} -- \\
        python -m ipykernel_launcher -f {connection_file}

The wrapper reads the connection file the launcher wrote (the public one), writes a private one
with fresh ports (:mod:`jpf_widget.tap.connection`), starts the kernel with the argv after
``--`` in which the public file's path is replaced by the private one, runs the relay on the
public ports, adds ``"jpf_tap"`` to the public file, and exits with the kernel's exit status
when the kernel exits (after stopping the relay and removing the private directory).

Signals. The kernel runs in a process group of its own, and the wrapper forwards SIGINT,
SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to that group: a launcher that signals the
wrapper's pid (VS Code) or its group (jupyter_client) interrupts the kernel exactly once. SIGINT
is handled by a Python function, never ignored, because an ignored signal stays ignored across
exec and the kernel would inherit it. Only the main thread can take these signals (the relay's
threads are started with them blocked): Python runs a handler in the main thread only, and that
thread waits in ``waitpid`` for the kernel's whole life, so a signal the OS handed to a relay
thread would be forwarded when the kernel has exited, that is never. On Linux the kernel also
gets SIGTERM if the wrapper dies without a chance to forward anything (``PR_SET_PDEATHSIG``).

A restart is the launcher's: it stops this wrapper and starts another, which binds the same
public ports. Under the ``jpf-tap`` provisioner the wrapper is not run at all (the provisioner
strips it from the argv).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from .connection import (
    add_tap_field,
    private_dir,
    remove_private_dir,
    write_private_connection_file,
)
from .provisioner import capture_urls, tap_field, with_this_python
from .relay import Endpoints, Relay, RelayError

__all__ = ["main"]

log = logging.getLogger("jpf_widget.tap.wrapper")

FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    """A process group of the kernel's own; SIGTERM when the wrapper dies (Linux)."""
    os.setpgid(0, 0)
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def _blocked(signums: Sequence[int]) -> Iterator[None]:
    """Block ``signums`` in this thread meanwhile: threads started inside inherit the mask.

    A signal that arrives meanwhile stays pending, and is handled here when it is unblocked.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m jpf_widget.tap.wrapper",
        description="Run a kernel behind the jpf tap (for launchers that ignore provisioners).",
    )
    parser.add_argument("-f", "--connection-file", required=True, help="the public connection file")
    parser.add_argument("--capture-hwm", type=int, default=10_000, help="see TapProvisioner")
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- the kernel's argv")
    args = parser.parse_args(argv)
    if args.argv[:1] == ["--"]:
        args.argv = args.argv[1:]
    if not args.argv:
        parser.error("the kernel's argv is missing (after --)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the kernel behind the relay; return the kernel's exit status."""
    logging.basicConfig(format="[jpf tap %(levelname)s] %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    public_path = os.path.realpath(args.connection_file)
    public = json.loads(Path(public_path).read_text())
    folder = private_dir()
    try:
        private_path, private = write_private_connection_file(folder, public)
        cmd = [
            arg.replace(args.connection_file, private_path).replace(public_path, private_path)
            for arg in with_this_python(list(args.argv))
        ]
        if not any(private_path in arg for arg in cmd):
            log.error("the kernel's argv does not name %s: it cannot be tapped", public_path)
            return 2
        return _run(
            cmd,
            public=public,
            private=private,
            public_path=public_path,
            folder=folder,
            capture_hwm=args.capture_hwm,
        )
    finally:
        remove_private_dir(folder)


def _run(
    cmd: list[str],
    *,
    public: dict[str, object],
    private: dict[str, object],
    public_path: str,
    folder: Path,
    capture_hwm: int,
) -> int:
    kernel_group: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if kernel_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(kernel_group[0], signum)

    # Handlers (not SIG_IGN) before the kernel starts: the child gets default dispositions.
    for signum in FORWARDED:
        signal.signal(signum, forward)
    # No thread exists yet (the relay starts after), so preexec_fn is safe here.
    kernel = subprocess.Popen(cmd, preexec_fn=_child_setup)  # noqa: PLW1509
    with contextlib.suppress(OSError):  # and from this side, so no signal can come too early
        os.setpgid(kernel.pid, kernel.pid)
    kernel_group.append(kernel.pid)
    capture, status = capture_urls(str(public.get("transport", "tcp")), folder)
    relay = Relay(
        Endpoints.from_info(public),
        Endpoints.from_info(private),
        capture_url=capture,
        status_url=status,
        capture_hwm=capture_hwm,
        private_dir=folder,
    )
    try:
        with _blocked(FORWARDED):  # the relay's threads never take a signal to forward
            relay.start()
    except RelayError as exc:
        log.error("%s", exc)  # noqa: TRY400 (the message says it all)
        os.killpg(kernel.pid, signal.SIGTERM)
        kernel.wait()
        return 1
    try:
        add_tap_field(public_path, tap_field(relay, "wrapper"))
        code = kernel.wait()
    finally:
        relay.stop()
        if kernel.poll() is None:
            os.killpg(kernel.pid, signal.SIGTERM)
            kernel.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
