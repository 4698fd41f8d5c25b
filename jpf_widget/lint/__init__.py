"""The protocol linter: every message checked against the Jupyter messaging spec.

- :mod:`.spec`: the spec's rules as data (a schema per msg_type, each rule's id, severity,
  reason and link);
- :mod:`.validate`: :func:`check`, the problems of one message;
- :mod:`.sequence`: the rules across messages (busy/idle, replies, execution counter);
- :mod:`.linter`: :class:`~.linter.Linter`, a capture's messages checked off capture's path;
- :mod:`.conformance`: ``jpf check``, a kernel driven through a standard script;
- :mod:`.doc`: the rules' table of ``docs/protocol-rules.md``, made from the rules.

This package's top level imports only what a :class:`~jpf_widget.messages.Message` needs
(``msg.problems``); the rest is imported from its module.
"""

from .spec import RULES, Rule
from .validate import Problem, check

__all__ = ["RULES", "Problem", "Rule", "check"]
