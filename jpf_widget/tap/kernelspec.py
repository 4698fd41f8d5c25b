"""Install and remove tapped kernelspecs (``jpf tap install`` / ``jpf tap uninstall``).

A tapped kernelspec ``<name>-tap`` is a copy of the kernelspec ``<name>`` (its logos and other
resources too) with:

- ``display_name``: the original's, followed by `` (tapped)``;
- ``metadata.kernel_provisioner = {"provisioner_name": "jpf-tap", "config": {}}``: Jupyter
  servers, JupyterLab, Notebook and nbclient launch it through the tap's provisioner;
- ``argv``: ``[<this python>, "-m", "jpf_widget.tap.wrapper", "-f", "{connection_file}", "--",
  *original argv]``, so that launchers that ignore provisioners (VS Code) tap it too; the
  provisioner drops the wrapper from the argv and does the work itself;
- no ``metadata.supported_encryption``: the relay does not speak CurveZMQ, so a KernelManager
  with ``transport_encryption="auto"`` starts it unencrypted (``"required"`` refuses it).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_core.paths import jupyter_data_dir

from .provisioner import WRAPPER_MODULE

__all__ = ["PROVISIONER", "TapSpecError", "install", "is_tapped", "tapped_name", "uninstall"]

PROVISIONER = "jpf-tap"
SUFFIX = "-tap"


class TapSpecError(RuntimeError):
    """A kernelspec cannot be tapped or removed (the message says why)."""


def tapped_name(name: str) -> str:
    """The tapped kernelspec's name for kernelspec ``name``."""
    return f"{name}{SUFFIX}"


def is_tapped(spec: dict[str, Any]) -> bool:
    """Whether a kernelspec (``kernel.json``'s contents) is one of ours."""
    provisioner = (spec.get("metadata") or {}).get("kernel_provisioner") or {}
    return provisioner.get("provisioner_name") == PROVISIONER or WRAPPER_MODULE in spec.get(
        "argv", []
    )


def _location(user: bool, prefix: str | None) -> dict[str, Any]:
    return {"user": True} if user else {"prefix": prefix}


def install(
    name: str = "python3",
    *,
    user: bool = False,
    prefix: str | os.PathLike[str] | None = None,
    manager: KernelSpecManager | None = None,
) -> Path:
    """Write the kernelspec ``<name>-tap``; return its directory.

    Where: ``user`` (the user's Jupyter data dir), ``prefix`` (``<prefix>/share/jupyter/kernels``,
    ``sys.prefix`` for an environment), or, with neither, the system-wide directory.

    Raises
    ------
    TapSpecError
        when there is no kernelspec ``name``, or it is itself tapped.
    """
    manager = manager or KernelSpecManager()
    try:
        original = manager.get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise TapSpecError(f"no kernelspec named {name!r} (installed: {known})") from None
    spec = original.to_dict()
    if is_tapped(spec):
        raise TapSpecError(f"kernelspec {name!r} is already tapped")
    spec["argv"] = [
        sys.executable,
        "-m",
        WRAPPER_MODULE,
        "-f",
        "{connection_file}",
        "--",
        *spec["argv"],
    ]
    spec["display_name"] = f"{spec.get('display_name') or name} (tapped)"
    metadata = dict(spec.get("metadata") or {})
    # the relay speaks no CurveZMQ: "auto" transport encryption must not pick this kernelspec
    metadata.pop("supported_encryption", None)
    metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER, "config": {}}
    spec["metadata"] = metadata
    with tempfile.TemporaryDirectory(prefix="jpf-tap-spec-") as scratch:
        folder = Path(scratch) / tapped_name(name)
        shutil.copytree(original.resource_dir, folder)
        (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
        where = manager.install_kernel_spec(
            str(folder),
            tapped_name(name),
            **_location(user, os.fspath(prefix) if prefix is not None else None),
        )
    return Path(where)


def uninstall(
    name: str = "python3",
    *,
    user: bool = False,
    prefix: str | os.PathLike[str] | None = None,
    manager: KernelSpecManager | None = None,
) -> Path:
    """Remove the kernelspec ``<name>-tap`` (``name`` may also be the tapped name itself);
    return the directory removed.

    With ``user`` or ``prefix`` only that location is looked at; otherwise wherever Jupyter
    finds the kernelspec.

    Raises
    ------
    TapSpecError
        when it is not there, or is not a tapped kernelspec (then it is left alone).
    """
    spec_name = name if name.endswith(SUFFIX) else tapped_name(name)
    if user:
        folder = Path(jupyter_data_dir()) / "kernels" / spec_name
    elif prefix is not None:
        folder = Path(prefix) / "share" / "jupyter" / "kernels" / spec_name
    else:
        manager = manager or KernelSpecManager()
        found = manager.find_kernel_specs().get(spec_name)
        if found is None:
            raise TapSpecError(f"no kernelspec named {spec_name!r} is installed")
        folder = Path(found)
    spec_file = folder / "kernel.json"
    if not spec_file.is_file():
        raise TapSpecError(f"no kernelspec named {spec_name!r} in {folder.parent}")
    try:
        spec = json.loads(spec_file.read_text())
    except ValueError:
        spec = {}
    if not isinstance(spec, dict) or not is_tapped(spec):
        raise TapSpecError(f"{folder} is not a kernelspec jpf tap installed: left alone")
    shutil.rmtree(folder)
    return folder
