"""Compiles jpf_widget's C modules, ``jpf_widget/_wire.c`` and ``jpf_widget/_trace.c``, whenever
a wheel is built (``pip install .`` and ``pip install -e .`` both build one).

It needs a C compiler, Python's headers and OpenSSL's (Debian: ``apt install gcc libssl-dev``).
"""

from __future__ import annotations

import shlex
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# Each C module and the libraries it links
MODULES = {"_wire": ["-lcrypto"], "_trace": []}


class CompileHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        for name, libraries in MODULES.items():
            target = self._compile(name, libraries)
            if version != "editable":  # an editable install imports it from where it was built
                build_data["artifacts"].append(target.relative_to(self.root).as_posix())
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def _compile(self, name: str, libraries: list[str]) -> Path:
        source = Path(self.root, "jpf_widget", f"{name}.c")
        target = source.with_name(name + sysconfig.get_config_var("EXT_SUFFIX"))
        command = [
            *shlex.split(sysconfig.get_config_var("CC") or "cc"),
            "-O2",
            "-shared",
            "-fPIC",
            "-Wall",
            "-Wextra",
            "-I" + sysconfig.get_paths()["include"],
            str(source),
            "-o",
            str(target),
            *libraries,
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            output = getattr(exc, "stderr", None) or str(exc)
            raise RuntimeError(
                f"could not compile {source.name} ({shlex.join(command)}): {output}\n"
                "jpf_widget needs a C compiler, Python's headers and OpenSSL's headers to "
                "install (Debian: apt install gcc libssl-dev)"
            ) from None
        return target
