"""jpf_widget: a kernel message monitor for Jupyter.

``Monitor("kernel-id")`` in a notebook cell attaches to another running kernel and shows its
messages live; the same object is a Python API to what it captured.
"""

from typing import TYPE_CHECKING

from .kernels import (
    AmbiguousKernelError,
    ConnectionFileError,
    KernelNotFoundError,
    KernelSummary,
    TargetError,
    list_kernels,
    resolve_target,
)
from .messages import (
    ClearOutput,
    CommClose,
    CommMsg,
    CommOpen,
    DisplayData,
    Error,
    ExecuteInput,
    ExecuteReply,
    ExecuteResult,
    KernelInfoReply,
    Marker,
    Message,
    MessageList,
    Status,
    Stream,
    UpdateDisplayData,
)
from .query import QueryError

if TYPE_CHECKING:
    from .widget import Monitor

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Monitor is imported when first asked for: the tap's provisioner and wrapper, and the
    # `jpf` command, import this package too, and need no widget library (about 0.4 s)
    if name == "Monitor":
        from .widget import Monitor  # noqa: PLC0415

        return Monitor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AmbiguousKernelError",
    "ClearOutput",
    "CommClose",
    "CommMsg",
    "CommOpen",
    "ConnectionFileError",
    "DisplayData",
    "Error",
    "ExecuteInput",
    "ExecuteReply",
    "ExecuteResult",
    "KernelInfoReply",
    "KernelNotFoundError",
    "KernelSummary",
    "Marker",
    "Message",
    "MessageList",
    "Monitor",
    "QueryError",
    "Status",
    "Stream",
    "TargetError",
    "UpdateDisplayData",
    "list_kernels",
    "resolve_target",
]
