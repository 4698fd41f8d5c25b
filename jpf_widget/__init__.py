"""jpf_widget: a kernel message monitor for Jupyter.

``Monitor("kernel-id")`` in a notebook cell attaches to another running kernel and shows its
messages live; the same object is a Python API to what it captured.
"""

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
from .widget import Monitor

__version__ = "0.1.0"

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
    "Status",
    "Stream",
    "TargetError",
    "UpdateDisplayData",
    "list_kernels",
    "resolve_target",
]
