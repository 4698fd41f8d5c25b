"""The rules' table in ``docs/protocol-rules.md``, made from the rule data.

``python -m jpf_widget.lint.doc docs/protocol-rules.md`` rewrites the part of that file between
``<!-- rules -->`` and ``<!-- /rules -->``; without a path it prints the table. A test checks
that the file holds the table the rules make now.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .spec import RULES

__all__ = ["rules_table"]

START, END = "<!-- rules -->", "<!-- /rules -->"


def rules_table() -> str:
    """Every rule: id, severity, reason, the spec's section; sorted by id."""
    lines = ["| rule | severity | reason | spec |", "| --- | --- | --- | --- |"]
    for rule_id in sorted(RULES):
        rule = RULES[rule_id]
        reason = rule.reason.replace("|", "\\|")
        lines.append(f"| `{rule_id}` | {rule.severity} | {reason} | [{rule.anchor}]({rule.link}) |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(rules_table())
        return 0
    path = Path(argv[0])
    text = path.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        print(f"{path} has no {START} ... {END} section to fill", file=sys.stderr)
        return 1
    path.write_text(f"{head}{START}\n{rules_table()}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
