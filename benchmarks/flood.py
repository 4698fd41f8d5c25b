"""The flood both live.py and loss.py send, and how to read the kernel's counter back."""

from __future__ import annotations


def flood(count: int, target: str) -> str:
    """Code for the target kernel: ``count`` comm messages as fast as it can, with the
    kernel's own message counter kept before and after in ``start`` and ``end``."""
    return f"""
from comm import create_comm
session = get_ipython().kernel.session
start = session.message_count
c = create_comm(target_name={target!r})
for i in range({count}):
    c.send({{"i": i}})
end = session.message_count
"""


def counter(msg_id: str) -> int:
    """The kernel's message counter in an ipykernel msg_id (``{session}_{pid}_{n}``), or -1."""
    tail = msg_id.rpartition("_")[2]
    return int(tail) if tail.isdigit() else -1
