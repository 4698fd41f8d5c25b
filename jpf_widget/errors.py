"""The errors a target can fail with: each message says what went wrong and what to do."""

from __future__ import annotations

__all__ = ["AmbiguousKernelError", "ConnectionFileError", "KernelNotFoundError", "TargetError"]


class TargetError(Exception):
    """The target could not be turned into a connection; the message says what to do."""


class KernelNotFoundError(TargetError, LookupError):
    """Nothing matches the target."""


class AmbiguousKernelError(TargetError, LookupError):
    """A prefix matches more than one kernel."""


class ConnectionFileError(TargetError, ValueError):
    """A connection file is missing, unreadable or malformed."""
