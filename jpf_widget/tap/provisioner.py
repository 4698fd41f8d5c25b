"""The ``jpf-tap`` kernel provisioner: a :class:`~jupyter_client.provisioning.LocalProvisioner`
that puts the tap's relay in front of the kernel it launches.

Selected by a kernelspec's ``metadata.kernel_provisioner = {"provisioner_name": "jpf-tap",
"config": {}}`` (``jpf tap install`` writes one), or for every kernel of a server by
``KernelProvisionerFactory.default_provisioner_name = "jpf-tap"`` (the environment variable
``JUPYTER_DEFAULT_PROVISIONER_NAME=jpf-tap`` does the same). ``config`` may set
``capture_hwm`` (messages queued per Monitor before the capture drops).

What it does, launch by launch:

- First launch: the KernelManager chooses the public ports and writes the public connection
  file as usual (``pre_launch`` of LocalProvisioner). The tap writes a private connection file
  with fresh ports (see :mod:`jpf_widget.tap.connection`), gives the kernel that file instead of
  the public one (``{connection_file}`` in the argv), starts the :class:`~.relay.Relay` on the
  public ports and adds ``"jpf_tap"`` to the public file.
- Restart (the provisioner instance survives it, and so does the relay): the KernelManager's
  ports are set back to the relay's public ones if it had dropped them (``newports``, as its
  restarter does for a kernel that died during its first start), and the public file is
  rewritten if it was removed. The kernel gets its previous private ports again when all are
  free (its clients' queued requests then reach the new kernel), otherwise fresh ones, and the
  relay is re-pointed (:meth:`~.relay.Relay.repoint`).
- Interrupts: ``send_signal`` is LocalProvisioner's (the kernel's process group); message mode
  sends ``interrupt_request`` on control, through the relay.
- Shutdown: the KernelManager removes the public file; ``cleanup`` stops the relay (ports
  freed, threads joined) and removes the private directory with the private file.
- A relay loop that dies is logged as an error and reported on the status socket and the
  capture stream (``"failed"``); the kernel keeps running, and the next restart of the kernel
  starts a new relay on the same public ports.

A kernelspec whose argv starts with the argv wrapper (``python -m jpf_widget.tap.wrapper -f
{connection_file} -- <argv>``, what ``jpf tap install`` writes so that launchers that ignore
provisioners are tapped too) is launched without the wrapper: the provisioner does its work.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from traitlets import Integer

from .connection import (
    add_tap_field,
    ports_free,
    private_dir,
    remove_private_dir,
    write_private_connection_file,
)
from .relay import Endpoints, Relay

__all__ = ["WRAPPER_MODULE", "TapProvisioner", "strip_wrapper"]

WRAPPER_MODULE = "jpf_widget.tap.wrapper"


def strip_wrapper(cmd: list[str]) -> list[str]:
    """The kernel's own argv out of a wrapped one (``[python, -m, jpf_widget.tap.wrapper, …,
    --, *argv]``); any other argv unchanged.

    A wrapped argv that starts with a bare ``python`` is given this Python, as jupyter_client
    does for a kernelspec's first word (it sees only the wrapper's)."""
    if WRAPPER_MODULE in cmd:
        start = cmd.index(WRAPPER_MODULE)
        if "--" in cmd[start:]:
            return with_this_python(cmd[cmd.index("--", start) + 1 :])
    return cmd


def with_this_python(cmd: list[str]) -> list[str]:
    """``cmd`` with a first word of ``python``, ``python3`` or ``python3.X`` (this version)
    replaced by ``sys.executable``, as jupyter_client's KernelManager does."""
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    if cmd and cmd[0] in bare:
        return [sys.executable, *cmd[1:]]
    return cmd


def tap_field(relay: Relay, launcher: str) -> dict[str, Any]:
    """The public connection file's ``jpf_tap`` field for a running relay."""
    return {
        "version": 1,
        "url": relay.capture_url,
        "status_url": relay.status_url,
        "pid": os.getpid(),
        "launcher": launcher,
    }


def capture_urls(transport: str, folder: Path) -> tuple[str, str]:
    """Where the capture and status sockets bind: socket files in the private directory
    wherever ipc exists, whatever the kernel's transport. The capture carries every client's
    code and input, passwords included (before any monitor masks them): on 127.0.0.1 any local
    user could read it, in a directory of mode 0700 only the kernel's user can. A free port on
    127.0.0.1 where there is no ipc (Windows)."""
    if transport == "ipc" or zmq.has("ipc"):
        return f"ipc://{folder}/capture", f"ipc://{folder}/status"
    return "tcp://127.0.0.1:*", "tcp://127.0.0.1:*"


class TapProvisioner(LocalProvisioner):
    """LocalProvisioner with the tap's relay between the public ports and the kernel."""

    capture_hwm = Integer(
        10_000,
        config=True,
        help="Messages queued for each Monitor (and in each channel's capture PUB) before the "
        "capture drops; a slow Monitor loses messages, the kernel is never slowed.",
    )

    relay: Relay | None = None
    private_dir: Path | None = None
    private_info: dict[str, Any] | None = None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Write both connection files, start or re-point the relay, and give the kernel the
        private file."""
        km = self.parent
        if km is None:
            raise RuntimeError("the jpf-tap provisioner needs a KernelManager as its parent")
        newports = False
        relay = self.relay
        if relay is not None and relay.running:
            # A restart: the public side keeps its ports (the restarter may have dropped them).
            for name, port in relay.public.ports().items():
                if getattr(km, name) != port:
                    newports = True
                    setattr(km, name, port)
        kwargs = await super().pre_launch(**kwargs)
        public = dict(km.get_connection_info())
        if public.get("curve_publickey"):
            raise RuntimeError(
                "jpf-tap cannot relay a kernel with CurveZMQ transport encryption: "
                "start it with transport_encryption='disabled' or without the tap"
            )
        public_path = os.path.realpath(km.connection_file)
        cmd = strip_wrapper(list(kwargs["cmd"]))
        if not any(public_path in arg for arg in cmd):
            raise RuntimeError(
                "jpf-tap: the kernelspec's argv has no {connection_file}, so the kernel cannot "
                f"be given private ports: {cmd}"
            )
        if self.private_dir is None:
            self.private_dir = private_dir()
        reuse = self.private_info
        if reuse is not None and (newports or not ports_free(reuse)):
            reuse = None
        private_path, private = write_private_connection_file(self.private_dir, public, reuse)
        moved = self.private_info is not None and reuse is None
        self.private_info = private
        kwargs["cmd"] = [arg.replace(public_path, private_path) for arg in cmd]

        if relay is None or not relay.running or relay.problems():
            where = None
            if relay is not None:  # one that failed: a new one, at the same addresses
                self.log.warning("jpf tap: starting a new relay (%s)", relay.problems())
                where = (relay.capture_url, relay.status_url)
                await asyncio.to_thread(relay.stop)
                self.relay = None
            try:
                relay = self._start_relay(public, private, where)
            except BaseException:
                self._forget()
                raise
        else:
            # new kernel-side sockets even on the same ports: what the old ones still held
            # for the dead kernel (a shutdown_request it never read) must not reach the new one
            relay.relink_public()
            relay.repoint(Endpoints.from_info(private), moved=moved)
        add_tap_field(km.connection_file, tap_field(relay, "provisioner"))
        return kwargs

    def _start_relay(
        self,
        public: dict[str, Any],
        private: dict[str, Any],
        where: tuple[str, str] | None = None,
    ) -> Relay:
        assert self.private_dir is not None
        transport = str(public.get("transport", "tcp"))
        capture, status = where or capture_urls(transport, self.private_dir)
        relay = Relay(
            Endpoints.from_info(public),
            Endpoints.from_info(private),
            capture_url=capture,
            status_url=status,
            capture_hwm=self.capture_hwm,
            private_dir=self.private_dir,
            on_failure=lambda problem: self.log.error(
                "jpf tap of kernel %s: %s; restart the kernel to start a new relay",
                self.kernel_id,
                problem,
            ),
        )
        relay.start()
        self.relay = relay
        self.log.info(
            "jpf tap: kernel %s relayed from %s, captured at %s",
            self.kernel_id,
            relay.public.url("shell"),
            relay.capture_url,
        )
        return relay

    async def cleanup(self, restart: bool = False) -> None:
        """On restart keep the relay (and put back public ipc socket files the KernelManager
        removed); otherwise stop it and remove the private directory."""
        if restart:
            await super().cleanup(restart=restart)
            if self.relay is not None:
                self.relay.relink_public()
            return
        if self.relay is not None:
            # before LocalProvisioner gives the public ports back to the port cache
            await asyncio.to_thread(self.relay.stop)
            self.relay = None
        self._forget()
        await super().cleanup(restart=restart)

    def _forget(self) -> None:
        """Remove the private directory and forget the private ports."""
        remove_private_dir(self.private_dir)
        self.private_dir = None
        self.private_info = None

    async def get_provisioner_info(self) -> dict[str, Any]:
        """LocalProvisioner's, and where the tap captures (for a server that persists it)."""
        info: dict[str, Any] = await super().get_provisioner_info()
        if self.relay is not None:
            info["jpf_tap"] = tap_field(self.relay, "provisioner")
        return info
