"""Whether a local process is alive: why a kernel is gone, which server files are stale."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["process_exists"]


def process_exists(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
