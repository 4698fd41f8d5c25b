"""Field queries: one small grammar for the view's filter box, ``Monitor.query`` and
``jpf show / tail / record --where``. ``js/src/query.ts`` parses the same grammar; both are
tested against ``tests/query_cases.json``, and ``docs/query-language.md`` explains it to users::

    query  := group ("OR" group)*        any group may hold
    group  := term (whitespace term)*    every term must hold
    term   := ["-"] [field ":"] value    "-" negates; without a field: free text
    field  := name | root "." key ("." key)*     root: header, parent_header, metadata, content
    value  := characters, "quoted parts", \\-escaped characters; an unescaped * is a wildcard

    channel:shell -msg_type:status       content.data.method:update OR msg_type:error
    content.code:"import os"             parent_header.msg_type:execute_*   traceback

Free text matches (case-insensitively, anywhere) the summary, msg_type, msg_id or comm_id. A field
term matches the whole value, case-sensitively; a path that is not there matches nothing (so
``-content.x:*`` finds messages without it). A number matches a value equal as a number, true,
false and null match those words, a list matches when one of its items does, and ``*`` alone
matches any value that is there.

:func:`compile_query` parses a query once into a :class:`Query`, a predicate over messages and
markers; a malformed query raises :class:`QueryError`, naming the position and what to write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from .messages import DisplayData, Marker, Message, Status

__all__ = ["FIELDS", "ROOTS", "Query", "QueryError", "compile_query", "state_of"]


class QueryError(ValueError):
    """A malformed query: ``message`` says what is wrong and what to write instead;
    ``position`` is where, counted in characters from 0."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"column {position + 1}: {message}")
        self.message = message
        self.position = position


def state_of(message: Message) -> str:
    """A status's execution_state, a reply's status (``ok``, ``error``, ``abort``), or ""."""
    if isinstance(message, Status):
        return message.execution_state
    if message.msg_type.endswith("_reply"):
        status = message.content.get("status")
        return status if isinstance(status, str) else ""
    return ""


# The fields every row of the view carries too (js/src/types.ts Row): the view decides terms on
# these itself. Each reads a message; markers have their kind as msg_type, their text as
# summary, channel "monitor", and "" (or no mime types) for the rest.
FIELDS: Final[dict[str, Callable[[Message], str | list[str]]]] = {
    "msg_type": lambda m: m.msg_type,
    "channel": lambda m: m.channel,
    "direction": lambda m: m.direction,
    "client": lambda m: m.client or "",
    "msg_id": lambda m: m.msg_id,
    "parent_id": lambda m: m.parent_id,
    "parent_type": lambda m: m.parent_type,
    "comm_id": lambda m: m.comm_id,
    "session": lambda m: m.session,
    "state": state_of,
    "status": state_of,
    "summary": lambda m: m.summary,
    "mime": lambda m: m.mime_types if isinstance(m, DisplayData) else [],
}
# The message's parts a dotted path starts from; only the full message has them (not a row)
ROOTS: Final = ("header", "parent_header", "metadata", "content")

_FIELD_LIST = (
    "msg_type, channel, direction, client, msg_id, parent_id, parent_type, comm_id, session, "
    "state (or status), summary, mime, or a path under header., parent_header., metadata. or "
    "content."
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_MISSING: Final = object()
_SPACE: Final = frozenset(" \t\n\r\f\v")  # what separates terms (the same in js/src/query.ts)

# One character of a word as typed: the character, whether it was quoted or escaped (and so
# taken literally), and where it was. A quoted "" leaves a literal "" so the value is not empty.
_Char = tuple[str, bool, int]


def _words(text: str) -> list[list[_Char]]:
    """Split the query at unquoted whitespace, resolving quotes and escapes."""
    words: list[list[_Char]] = []
    word: list[_Char] | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            word = None
            i += 1
            continue
        if word is None:
            word = []
            words.append(word)
        if c == "\\":
            if i + 1 >= n:
                raise QueryError("\\ at the end escapes nothing: write \\\\ for a backslash", i)
            word.append((text[i + 1], True, i))
            i += 2
        elif c == '"':
            start = i
            word.append(("", True, i))
            i += 1
            while True:
                if i >= n:
                    raise QueryError(
                        'unclosed quote: end the value with " (write \\" for a quote in it)', start
                    )
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n:
                    i += 1
                    word.append((text[i], True, i))
                else:  # a * stays a wildcard in quotes: quotes only keep spaces and : apart
                    word.append((c, c != "*", i))
                i += 1
        else:
            word.append((c, False, i))
            i += 1
    return words


def _literal(chars: Sequence[_Char]) -> str:
    return "".join(c for c, _, _ in chars)


def _quoted(chars: Sequence[_Char]) -> str:
    text = _literal(chars)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is(chars: Sequence[_Char], word: str) -> bool:
    return len(chars) == len(word) and all(
        not lit and c == w for (c, lit, _), w in zip(chars, word, strict=True)
    )


class _Pattern:
    """A value to match: literal text with wildcards where an unescaped * was typed."""

    __slots__ = ("anything", "regex", "text", "wild")

    def __init__(self, chars: Sequence[_Char], ignore_case: bool) -> None:
        self.text = _literal(chars)
        self.wild = any(c == "*" and not lit for c, lit, _ in chars)
        # only stars: any value that is there
        self.anything = self.wild and all(c == "*" and not lit for c, lit, _ in chars if c)
        parts = [".*" if c == "*" and not lit else re.escape(c) for c, lit, _ in chars]
        flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        self.regex = re.compile("".join(parts), flags)

    def whole(self, value: Any) -> bool:
        """Does a field's value match? (A whole string, a number, a word, a list's item.)"""
        if self.anything:
            return value is not _MISSING
        if isinstance(value, str):
            return self.regex.fullmatch(value) is not None if self.wild else value == self.text
        if isinstance(value, list):
            return any(self.whole(item) for item in value)
        if self.wild:
            return False
        if value is None:
            return self.text == "null"
        if isinstance(value, bool):
            return self.text == ("true" if value else "false")
        if isinstance(value, int | float):
            return _NUMBER.fullmatch(self.text) is not None and float(self.text) == value
        return False


_Test = Callable[["_Subject"], bool]


class _Subject:
    """What the terms read of one message or marker, each frame parsed at most once."""

    __slots__ = ("entry", "parts")

    def __init__(self, entry: Message | Marker) -> None:
        self.entry = entry
        self.parts: dict[str, Any] = {}

    def field(self, name: str) -> str | list[str]:
        entry = self.entry
        if isinstance(entry, Marker):
            if name == "msg_type":
                return entry.kind
            if name == "channel":
                return entry.channel
            if name == "summary":
                return entry.text
            return [] if name == "mime" else ""
        return FIELDS[name](entry)

    def path(self, keys: Sequence[str]) -> Any:
        entry = self.entry
        if isinstance(entry, Marker):
            return _MISSING
        root = keys[0]
        value = self.parts.get(root, _MISSING)
        if value is _MISSING:
            value = self.parts[root] = getattr(entry, root)
        for key in keys[1:]:
            if isinstance(value, dict):
                value = value.get(key, _MISSING)
            elif isinstance(value, list) and _INDEX.fullmatch(key) and int(key) < len(value):
                value = value[int(key)]
            else:
                return _MISSING
            if value is _MISSING:
                break
        return value


# what free text looks at; the summary last, as the only one that parses the content
_FREE_TEXT_FIELDS: Final = ("msg_type", "msg_id", "comm_id", "summary")


def _free_text(pattern: _Pattern) -> _Test:
    if pattern.wild:
        search = pattern.regex.search
        return lambda s: any(
            search(s.field(name)) is not None  # type: ignore[arg-type]  # these are str
            for name in _FREE_TEXT_FIELDS
        )
    needle = pattern.text.lower()
    return lambda s: any(
        needle in s.field(name).lower()  # type: ignore[union-attr]  # these are str
        for name in _FREE_TEXT_FIELDS
    )


def _field_test(name: str, pattern: _Pattern) -> _Test:
    whole = pattern.whole
    return lambda s: whole(s.field(name))


def _path_test(keys: list[str], pattern: _Pattern) -> _Test:
    whole = pattern.whole
    return lambda s: whole(s.path(keys))


def _negated(test: _Test) -> _Test:
    return lambda s: not test(s)


def _term(chars: list[_Char]) -> tuple[_Test, int, bool]:
    """One term's test, its cost (cheap terms are tried first) and whether it reads a path."""
    negate = not chars[0][1] and chars[0][0] == "-"
    if negate:
        if len(chars) == 1:
            raise QueryError("- must be followed by a term, as in -msg_type:status", chars[0][2])
        chars = chars[1:]
    colon = next((i for i, (c, lit, _) in enumerate(chars) if c == ":" and not lit), -1)
    test: _Test
    if colon < 0:
        test, cost, deep = _free_text(_Pattern(chars, ignore_case=True)), 2, False
    else:
        name_chars, value = chars[:colon], chars[colon + 1 :]
        where = chars[colon][2]
        if not name_chars:
            raise QueryError(
                f": must follow a field name, as in msg_type:stream; to search for the text, "
                f"quote it: {_quoted(chars)}",
                where,
            )
        keys = [""]
        for c, lit, _ in name_chars:
            if c == "." and not lit:
                keys.append("")
            else:
                keys[-1] += c
        name, start = keys[0], name_chars[0][2]
        if len(keys) == 1 and name in FIELDS:
            deep = False
        elif len(keys) == 1 and name in ROOTS:
            raise QueryError(f"{name} is an object: name a key in it, as {name}.KEY:VALUE", start)
        elif name not in ROOTS or len(keys) == 1:
            raise QueryError(
                f'unknown field "{_literal(name_chars)}": use {_FIELD_LIST}; to search for the '
                f"text, quote it: {_quoted(chars)}",
                start,
            )
        elif "" in keys:
            raise QueryError(
                f'empty key in "{_literal(name_chars)}": write {name}.KEY:VALUE', start
            )
        else:
            deep = True
        if not value:
            raise QueryError(
                f"{_literal(name_chars)}: needs a value, as {_literal(name_chars)}:VALUE "
                f'(or {_literal(name_chars)}:"" for an empty one)',
                where,
            )
        pattern = _Pattern(value, ignore_case=False)
        if deep:
            test, cost = _path_test(keys, pattern), 3
        else:
            test, cost = (
                _field_test(name, pattern),
                2 if name in ("summary", "state", "status", "mime") else 1,
            )
    return (_negated(test) if negate else test), cost, deep


class Query:
    """A parsed query: call it with a message (or a marker) to know whether it matches.

    Attributes
    ----------
    text : str
        The query as written.
    deep : bool
        Whether a term reads a path into the message (``content.…``): what the view's rows,
        which carry only the top-level fields, cannot decide on their own.
    """

    __slots__ = ("_groups", "deep", "text")

    def __init__(self, text: str, groups: list[list[_Test]], deep: bool) -> None:
        self.text = text
        self._groups = groups
        self.deep = deep

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    def __call__(self, entry: Message | Marker) -> bool:
        if not self._groups:
            return True
        subject = _Subject(entry)
        return any(all(test(subject) for test in group) for group in self._groups)


def compile_query(text: str) -> Query:
    """Parse a query (see the module's docstring) into a predicate; an empty one matches all.

    Raises
    ------
    QueryError
        The query is malformed; the message says where and what to write instead.
    """
    groups: list[list[_Test]] = []
    group: list[tuple[_Test, int]] = []
    deep = False
    last_or = -1
    for word in _words(text):
        if _is(word, "OR"):
            if not group:
                raise QueryError(
                    "OR needs a term on both sides, as in msg_type:error OR channel:stdin",
                    word[0][2],
                )
            groups.append([test for test, _ in sorted(group, key=lambda t: t[1])])
            group, last_or = [], word[0][2]
            continue
        test, cost, reads_path = _term(word)
        group.append((test, cost))
        deep = deep or reads_path
    if group:
        groups.append([test for test, _ in sorted(group, key=lambda t: t[1])])
    elif last_or >= 0:
        raise QueryError(
            "OR needs a term on both sides, as in msg_type:error OR channel:stdin", last_or
        )
    return Query(text, groups, deep)
