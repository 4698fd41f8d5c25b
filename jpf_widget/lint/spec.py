"""The Jupyter messaging spec's rules, as data: a schema per msg_type, and the rules made from it.

Written from jupyter_client's ``docs/messaging.rst`` (protocol 5.5, with its version notes
5.0-5.5). Each :class:`MessageSpec` names its msg_type, the channels it travels on, the protocol
version that added it, and its content :class:`Field`\\ s; each field says whether the spec
requires it, its kind, and the severity and reason of the rules made from it. A rule's id says
what it checks::

    header.date.timezone                  a header field
    execute_reply.execution_count.type    <msg_type>.<field path>.<required | type | enum>
    execute_reply.status.aborted          a rule of its own, written below
    sequence.reply.missing                a rule across messages (jpf_widget.lint.sequence)

Severity: ``error`` when a client that follows the spec breaks or shows the wrong thing,
``warning`` when the message is deprecated, or the spec says "should" and clients cope.
Fields the spec does not name are never flagged ("Both sides should allow ... extra fields in
known message types"), and msg_types it does not name are custom messages, not violations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "LATEST",
    "MESSAGES",
    "RULES",
    "SPEC_URL",
    "Field",
    "MessageSpec",
    "Rule",
    "Severity",
    "parse_version",
]

SPEC_URL: Final = "https://jupyter-client.readthedocs.io/en/latest/messaging.html"
LATEST: Final = (5, 5)

Severity = Literal["error", "warning"]
# What a field may hold: a JSON kind, or a shape checked by the validator
Kind = Literal[
    "str",
    "int",
    "bool",
    "dict",
    "list[str]",
    "list[dict]",
    "str|dict",
    "help_links",
    "comms",
    "history",
]


def parse_version(text: object) -> tuple[int, int] | None:
    """``"5.3"`` (or ``"5.3.0"``) as ``(5, 3)``; None for anything else."""
    if not isinstance(text, str):
        return None
    parts = text.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, how bad breaking it is, why, and the spec section that says so."""

    id: str
    severity: Severity
    reason: str
    anchor: str  # the section of the spec, an id on its page

    @property
    def link(self) -> str:
        return f"{SPEC_URL}#{self.anchor}"


@dataclass(frozen=True, slots=True)
class Field:
    """A content field of a message type.

    ``path`` may go into a dict (``language_info.name``); ``required`` fields missing break the
    rule ``<type>.<path>.required`` with ``missing`` severity; a value of the wrong kind breaks
    ``<type>.<path>.type`` (always an error: a client reading it as the spec says fails); a value
    outside ``enum`` breaks ``<type>.<path>.enum``. ``when`` limits the field to replies of that
    status (``"ok"``: the usual content, left out of error and aborted replies). ``since``: the
    protocol version that added the field (older messages are not checked for it).
    """

    path: str
    kind: Kind
    required: bool = True
    why: str = ""
    missing: Severity = "error"
    enum: tuple[object, ...] = ()
    # values outside ``enum`` that widespread software sends: rule ``<type>.<path>.quirk``
    quirks: tuple[object, ...] = ()
    quirk_why: str = ""
    when: str = ""
    since: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One msg_type of the spec: where it travels, since when, and its content."""

    msg_type: str
    channels: tuple[str, ...]
    anchor: str
    fields: tuple[Field, ...] = ()
    since: tuple[int, int] = (0, 0)
    # a reply with the common status forms (ok / error / aborted): ``status`` and, in error
    # replies, ``ename``, ``evalue`` and ``traceback``
    reply: bool = False


_SHELL = ("shell", "control")  # ipykernel and xeus answer shell requests on control too
_IOPUB = ("iopub",)
_STDIN = ("stdin",)
_COMM = ("shell", "iopub", "control")
_V5 = (5, 0)  # a front end sends them on shell, a kernel on iopub

_MIME = "a front end renders the output from it; the spec makes it a mime-bundle dict"
_COUNT = "front ends show it as the prompt number In[n] / Out[n]"
_CURSOR = "front ends place the completion / tooltip from it"


def _ok(path: str, kind: Kind, why: str = "", **options: object) -> Field:
    """A field of the usual (ok) content of a reply."""
    return Field(path, kind, why=why, when="ok", **options)  # type: ignore[arg-type]


def _opt(path: str, kind: Kind, why: str = "", **options: object) -> Field:
    """An optional field: checked for its kind when present."""
    return Field(path, kind, required=False, why=why, **options)  # type: ignore[arg-type]


_DISPLAY = (
    Field("data", "dict", why=_MIME),
    Field(
        "metadata",
        "dict",
        why="the spec lists it; front ends and nbformat's output keep it",
        missing="warning",
    ),
    _opt("transient", "dict", "transient data is a dict (5.1)", since=(5, 1)),
    _opt("transient.display_id", "str", "update_display_data matches displays by it"),
)

MESSAGES: Final[tuple[MessageSpec, ...]] = (
    # -- shell (and control) requests and replies -----------------------------------------------
    MessageSpec(
        "execute_request",
        _SHELL,
        "execute",
        (
            Field("code", "str", why="the kernel runs it"),
            _opt("silent", "bool"),
            _opt("store_history", "bool"),
            _opt("user_expressions", "dict"),
            _opt("allow_stdin", "bool"),
            _opt("stop_on_error", "bool"),
        ),
    ),
    MessageSpec(
        "execute_reply",
        _SHELL,
        "execution-results",
        (
            Field(
                "execution_count",
                "int",
                why="execute_reply has an execution_count regardless of status; " + _COUNT,
            ),
            _opt("payload", "list[dict]", "payloads are a list of dicts", when="ok"),
            _opt("user_expressions", "dict", "the results of user_expressions", when="ok"),
        ),
        reply=True,
    ),
    MessageSpec(
        "inspect_request",
        _SHELL,
        "msging-inspection",
        (
            Field("code", "str", why="the code to inspect"),
            Field("cursor_pos", "int", why=_CURSOR),
            _opt("detail_level", "int", "0 or 1", enum=(0, 1)),
        ),
        since=_V5,
    ),
    MessageSpec(
        "inspect_reply",
        _SHELL,
        "msging-inspection",
        (
            _ok("found", "bool", "front ends show nothing when it is false"),
            _ok("data", "dict", _MIME),
            _ok("metadata", "dict", "the mime-bundle's metadata", missing="warning"),
        ),
        reply=True,
        since=_V5,
    ),
    MessageSpec(
        "complete_request",
        _SHELL,
        "msging-completion",
        (Field("code", "str", why="the code to complete"), Field("cursor_pos", "int", why=_CURSOR)),
    ),
    MessageSpec(
        "complete_reply",
        _SHELL,
        "msging-completion",
        (
            _ok("matches", "list[str]", "front ends list the matches"),
            _ok("cursor_start", "int", "front ends replace the text from it"),
            _ok("cursor_end", "int", "front ends replace the text up to it"),
            _ok("metadata", "dict", "added in 5.0 for extra completion data", missing="warning"),
        ),
        reply=True,
    ),
    MessageSpec(
        "history_request",
        _SHELL,
        "msging-history",
        (
            Field("output", "bool", why="the spec lists it"),
            Field("raw", "bool", why="the spec lists it"),
            Field(
                "hist_access_type",
                "str",
                why="the kernel chooses the kind of query by it",
                enum=("range", "tail", "search"),
            ),
            _opt("session", "int"),
            _opt("start", "int"),
            _opt("stop", "int"),
            _opt("n", "int"),
            _opt("pattern", "str"),
            _opt("unique", "bool"),
        ),
    ),
    MessageSpec(
        "history_reply",
        _SHELL,
        "msging-history",
        (_ok("history", "history", "a list of (session, line, input) triples"),),
        reply=True,
    ),
    MessageSpec(
        "is_complete_request",
        _SHELL,
        "msging-is-complete",
        (Field("code", "str", why="the code to judge"),),
        since=(5, 0),
    ),
    MessageSpec(
        "is_complete_reply",
        _SHELL,
        "msging-is-complete",
        (
            Field(
                "status",
                "str",
                why="consoles decide from it whether to run the code or prompt for more",
                enum=("complete", "incomplete", "invalid", "unknown"),
            ),
            _opt("indent", "str", "the indent hint for the next line"),
        ),
        since=(5, 0),
    ),
    MessageSpec("connect_request", _SHELL, "connect"),
    MessageSpec(
        "connect_reply",
        _SHELL,
        "connect",
        tuple(
            _opt(f"{name}_port", "int", "a port number")
            for name in ("shell", "iopub", "stdin", "hb", "control")
        ),
    ),
    MessageSpec(
        "comm_info_request",
        _SHELL,
        "msging-comm-info",
        (_opt("target_name", "str", "the target whose comms are asked for"),),
        since=(5, 1),
    ),
    MessageSpec(
        "comm_info_reply",
        _SHELL,
        "msging-comm-info",
        (_ok("comms", "comms", "a dict of comm_id to {target_name: str}"),),
        since=(5, 1),
        reply=True,
    ),
    MessageSpec("kernel_info_request", _SHELL, "msging-kernel-info"),
    MessageSpec(
        "kernel_info_reply",
        _SHELL,
        "msging-kernel-info",
        (
            _ok(
                "protocol_version",
                "str",
                "clients adapt to the protocol version the kernel announces",
            ),
            _ok("implementation", "str", "front ends show it", missing="warning", since=_V5),
            _ok(
                "implementation_version",
                "str",
                "front ends show it",
                missing="warning",
                since=_V5,
            ),
            _ok("language_info", "dict", "front ends highlight and save code by it", since=_V5),
            _ok("language_info.name", "str", "notebooks record the kernel's language by it"),
            _opt("language_info.version", "str", "a version string 'X.Y.Z'"),
            _opt("language_info.mimetype", "str", "a mimetype"),
            _opt("language_info.file_extension", "str", "an extension with its dot"),
            _opt("language_info.pygments_lexer", "str", "a lexer name"),
            _opt("language_info.codemirror_mode", "str|dict", "a mode name or spec"),
            _opt("language_info.nbconvert_exporter", "str", "an exporter name"),
            _ok("banner", "str", "consoles print it on start", missing="warning", since=_V5),
            _opt("debugger", "bool", "whether the debugger is supported"),
            _opt("help_links", "help_links", "a list of {text, url} dicts for the help menu"),
            _opt(
                "supported_features",
                "list[str]",
                "front ends enable the debugger and subshells from it",
                since=(5, 5),
            ),
        ),
        reply=True,
    ),
    # -- control ----------------------------------------------------------------------------------
    MessageSpec(
        "shutdown_request",
        _SHELL,
        "msging-shutdown",
        (Field("restart", "bool", why="the kernel tells a final shutdown from a restart by it"),),
    ),
    MessageSpec(
        "shutdown_reply",
        _SHELL,
        "msging-shutdown",
        (_ok("restart", "bool", "a copy of the request's restart", missing="warning"),),
        reply=True,
    ),
    MessageSpec("interrupt_request", ("control",), "msging-interrupt", since=(5, 3)),
    MessageSpec("interrupt_reply", ("control",), "msging-interrupt", since=(5, 3), reply=True),
    MessageSpec(
        "debug_request",
        _SHELL,
        "debug-request",
        (
            Field("type", "str", why="a DAP Request", enum=("request",)),
            Field("seq", "int", why="a DAP Request's sequence number"),
            Field("command", "str", why="the DAP command"),
        ),
        since=(5, 5),
    ),
    MessageSpec(
        "debug_reply",
        _SHELL,
        "debug-request",
        (
            Field("type", "str", why="a DAP Response", enum=("response",)),
            Field("success", "bool", why="the front end's debugger reads it"),
            Field("command", "str", why="a DAP Response names its command", missing="warning"),
            Field(
                "request_seq",
                "int",
                why="the debugger matches it to its request",
                missing="warning",
            ),
        ),
        since=(5, 5),
    ),
    MessageSpec("create_subshell_request", _SHELL, "create-subshell", since=(5, 5)),
    MessageSpec(
        "create_subshell_reply",
        _SHELL,
        "create-subshell",
        (_ok("subshell_id", "str", "the client sends its requests to the subshell with it"),),
        since=(5, 5),
        reply=True,
    ),
    MessageSpec(
        "delete_subshell_request",
        _SHELL,
        "delete-subshell",
        (Field("subshell_id", "str", why="the subshell to delete"),),
        since=(5, 5),
    ),
    MessageSpec("delete_subshell_reply", _SHELL, "delete-subshell", since=(5, 5), reply=True),
    MessageSpec("list_subshell_request", _SHELL, "list-subshell", since=(5, 5)),
    MessageSpec(
        "list_subshell_reply",
        _SHELL,
        "list-subshell",
        (_ok("subshell_id", "list[str]", "a list of the subshells' ids"),),
        since=(5, 5),
        reply=True,
    ),
    # -- iopub ------------------------------------------------------------------------------------
    MessageSpec(
        "iopub_welcome",
        _IOPUB,
        "welcome-message",
        (Field("subscription", "str", why="the topic subscribed to"),),
        since=(5, 5),
    ),
    MessageSpec(
        "stream",
        _IOPUB,
        "streams-stdout-stderr-etc",
        (
            Field(
                "name",
                "str",
                why="front ends and nbformat know only these streams",
                enum=("stdout", "stderr"),
            ),
            Field(
                "text",
                "str",
                why="the text front ends append (renamed from data in 5.0)",
                since=_V5,
            ),
        ),
    ),
    MessageSpec("display_data", _IOPUB, "display-data", _DISPLAY),
    MessageSpec(
        "update_display_data",
        _IOPUB,
        "update-display-data",
        (
            *_DISPLAY[:2],
            Field("transient", "dict", why="must contain a transient field with a display_id"),
            Field(
                "transient.display_id",
                "str",
                why="front ends find the displays to update by it",
            ),
        ),
        since=(5, 1),
    ),
    MessageSpec(
        "execute_input",
        _IOPUB,
        "code-inputs",
        (
            Field("code", "str", why="front ends show the code run"),
            Field("execution_count", "int", why=_COUNT),
        ),
        since=_V5,
    ),
    MessageSpec(
        "execute_result",
        _IOPUB,
        "id6",
        (Field("execution_count", "int", why=_COUNT), *_DISPLAY),
    ),
    MessageSpec(
        "error",
        _IOPUB,
        "execution-errors",
        (
            Field("ename", "str", why="front ends show the error's name"),
            Field("evalue", "str", why="front ends show the error's value"),
            Field("traceback", "list[str]", why="front ends show the traceback's lines"),
        ),
        since=_V5,
    ),
    MessageSpec(
        "status",
        _IOPUB,
        "status",
        (
            Field(
                "execution_state",
                "str",
                why="front ends show the kernel busy or idle from it",
                enum=("busy", "idle", "starting"),
                quirks=("restarting", "autorestarting", "dead"),
                quirk_why="jupyter_server tells its websocket clients of the kernel's restarts "
                "and death with status messages of these states, which the spec does not list",
            ),
        ),
    ),
    MessageSpec(
        "clear_output",
        _IOPUB,
        "clear-output",
        (_opt("wait", "bool", "whether to clear only when new output comes"),),
    ),
    MessageSpec(
        "debug_event",
        _IOPUB,
        "debug-event",
        (
            Field("type", "str", why="a DAP Event", enum=("event",)),
            Field("event", "str", why="the front end's debugger dispatches on it"),
            Field("seq", "int", why="a DAP Event's sequence number", missing="warning"),
        ),
        since=(5, 5),
    ),
    # -- stdin (the kernel asks, the front end answers) ------------------------------------------
    MessageSpec(
        "input_request",
        _STDIN,
        "stdin-messages",
        (
            Field("prompt", "str", why="front ends show it"),
            Field(
                "password",
                "bool",
                why="front ends hide the answer when it is true (5.0)",
                missing="warning",
                since=(5, 0),
            ),
        ),
    ),
    MessageSpec(
        "input_reply", _STDIN, "stdin-messages", (Field("value", "str", why="the answer"),)
    ),
    # -- comms (both ways) ------------------------------------------------------------------------
    MessageSpec(
        "comm_open",
        _COMM,
        "opening-a-comm",
        (
            Field("comm_id", "str", why="every comm message names its comm by it"),
            Field("target_name", "str", why="the receiving side finds the comm's handler by it"),
            Field("data", "dict", why="the data key is always a dict"),
        ),
        since=(4, 1),
    ),
    MessageSpec(
        "comm_msg",
        _COMM,
        "comm-messages",
        (
            Field("comm_id", "str", why="the receiving side finds the comm by it"),
            Field("data", "dict", why="the comm's own message is in it"),
        ),
        since=(4, 1),
    ),
    MessageSpec(
        "comm_close",
        _COMM,
        "tearing-down-comms",
        (
            Field("comm_id", "str", why="the receiving side finds the comm to close by it"),
            _opt("data", "dict", "data is a dict"),
        ),
        since=(4, 1),
    ),
)

BY_TYPE: Final = {spec.msg_type: spec for spec in MESSAGES}
# shell replies' common status forms (request_reply)
REPLY_STATUS: Final = ("ok", "error", "aborted")
ERROR_FIELDS: Final = (
    Field("ename", "str", why="clients show the error's name", missing="warning"),
    Field("evalue", "str", why="clients show the error's value", missing="warning"),
    Field("traceback", "list[str]", why="clients show the traceback", missing="warning"),
)
# msg_types renamed in 5.0: sent by a kernel that speaks 5.x, front ends do not know them
RENAMED: Final = {
    "pyin": "execute_input",
    "pyerr": "error",
    "object_info_request": "inspect_request",
    "object_info_reply": "inspect_reply",
}

_HEADER_RULES = (
    Rule("header.msg_id.required", "error", "every message has a unique msg_id", "message-header"),
    Rule("header.msg_id.type", "error", "msg_id is a string", "message-header"),
    Rule("header.msg_type.type", "error", "msg_type is a string", "message-header"),
    Rule(
        "header.session.required",
        "error",
        "clients tell a restarted kernel by its session",
        "message-header",
    ),
    Rule("header.session.type", "error", "session is a string", "message-header"),
    Rule(
        "header.username.required",
        "warning",
        "the header has a username; front ends label collaborators' messages by it",
        "message-header",
    ),
    Rule("header.username.type", "error", "username is a string", "message-header"),
    Rule(
        "header.date.required",
        "error",
        "date is mandatory from protocol 5.1",
        "message-header",
    ),
    Rule(
        "header.date.format",
        "error",
        "date is an ISO 8601 timestamp; clients parse it",
        "message-header",
    ),
    Rule(
        "header.date.timezone",
        "warning",
        "a date without a time zone is read as local time (jupyter_client warns), so "
        "messages from another machine are misordered",
        "message-header",
    ),
    Rule(
        "header.version.required",
        "error",
        "the header has the protocol version from 5.0; clients adapt to it",
        "message-header",
    ),
    Rule(
        "header.version.format",
        "error",
        "version is a string 'X.Y' (or 'X.Y.Z')",
        "message-header",
    ),
    Rule(
        "header.subshell_id.type",
        "error",
        "subshell_id is a string or null (5.5)",
        "message-header",
    ),
    Rule(
        "header.msg_type.version",
        "warning",
        "the msg_type was added in a later protocol version than the header's",
        "changelog",
    ),
    Rule(
        "header.msg_type.renamed",
        "warning",
        "the msg_type was renamed in 5.0 (pyin, pyerr, object_info_*): 5.x front ends ignore it",
        "changelog",
    ),
    Rule(
        "parent_header.required",
        "error",
        "_reply messages MUST have a parent_header: clients route the reply by its msg_id",
        "parent-header",
    ),
    Rule(
        "parent_header.msg_type",
        "error",
        "a reply's parent_header is a copy of its request's header: <action>_reply answers "
        "<action>_request",
        "parent-header",
    ),
    Rule(
        "frame.json",
        "error",
        "header, parent_header, metadata and content are each a JSON object (dict)",
        "general-message-format",
    ),
)

_OTHER_RULES = (
    Rule("channel", "error", "the msg_type travels on another channel", "messaging-in-jupyter"),
    Rule(
        "shutdown_reply.channel.iopub",
        "warning",
        "the spec has shutdown_reply on control only; ipykernel also broadcasts a copy on iopub "
        "so that every client learns of the shutdown",
        "msging-shutdown",
    ),
    Rule(
        "input_reply.parent_header.required",
        "warning",
        "a reply has a parent_header; jupyter_client's KernelClient.input() sends none, and "
        "kernels pair the answer with their one pending input_request",
        "stdin-messages",
    ),
    Rule(
        "shutdown_request.channel.shell",
        "warning",
        "sending shutdown_request on shell is deprecated since 5.4: send it on control",
        "msging-shutdown",
    ),
    Rule(
        "connect_request.deprecated",
        "warning",
        "connect_request/reply are deprecated since 5.1",
        "connect",
    ),
    Rule(
        "reply.status.aborted",
        "warning",
        "status 'aborted' is deprecated since 5.1: kernels should send 'error'",
        "request-reply",
    ),
    Rule(
        "execute_reply.payload.deprecated",
        "warning",
        "payloads are deprecated",
        "payloads-deprecated",
    ),
    Rule(
        "execute_result.data.text_plain",
        "warning",
        "a plain text representation should always be provided (text/plain)",
        "id6",
    ),
    Rule(
        "is_complete_reply.indent.required",
        "warning",
        "an incomplete reply has the indent for the next line",
        "msging-is-complete",
    ),
    Rule(
        "kernel_info_reply.protocol_version.format",
        "error",
        "protocol_version is a version string 'X.Y' or 'X.Y.Z' (5.0)",
        "msging-kernel-info",
    ),
    Rule(
        "kernel_info_reply.debugger.deprecated",
        "warning",
        "debugger is deprecated in 5.5, replaced by supported_features (sending both serves "
        "older front ends and is not flagged)",
        "msging-kernel-info",
    ),
    Rule(
        "script.kernel_died",
        "error",
        "jpf check --kernel: the kernel's process exited before the script asked it to shut "
        "down (an interrupt, by signal or interrupt_request, stops the execution, not the "
        "kernel); clients lose its state",
        "msging-interrupt",
    ),
    # sequences (jpf_widget.lint.sequence)
    Rule(
        "sequence.busy.missing",
        "error",
        "a kernel publishes status busy as soon as it takes a request, before anything else "
        "for it: front ends mark the cell running from it",
        "request-reply",
    ),
    Rule(
        "sequence.idle.missing",
        "error",
        "after a request's outputs the kernel publishes status idle: front ends take it as "
        "the end of the request's output",
        "status",
    ),
    Rule(
        "sequence.output.after_idle",
        "warning",
        "outputs come between busy and idle; after idle their handling is undefined",
        "status",
    ),
    Rule(
        "sequence.output.unknown_parent",
        "error",
        "an output's parent_header is the header of the request that caused it: a parent "
        "that was never sent cannot be routed to any output area",
        "parent-header",
    ),
    Rule(
        "sequence.execute_input.late",
        "warning",
        "execute_input re-broadcasts the code being run: outputs that come before it have "
        "no In[] to go under in consoles",
        "code-inputs",
    ),
    Rule(
        "sequence.reply.missing",
        "error",
        "the kernel always answers execute_request and kernel_info_request (other requests "
        "may go unanswered)",
        "msging-compatibility",
    ),
    Rule(
        "sequence.reply.duplicate",
        "error",
        "a request is answered by exactly one reply",
        "request-reply",
    ),
    Rule(
        "sequence.reply.type",
        "error",
        "<action>_request is answered by <action>_reply",
        "request-reply",
    ),
    Rule(
        "sequence.reply.channel",
        "error",
        "a reply comes on the channel its request went on (a client's socket for that "
        "channel waits for it)",
        "request-reply",
    ),
    Rule(
        "sequence.execution_count.increasing",
        "error",
        "the execution counter increases with every request that stores history",
        "execution-counter",
    ),
)


def _field_rules(spec: MessageSpec) -> list[Rule]:
    rules = []
    for field in spec.fields:
        base = f"{spec.msg_type}.{field.path}"
        what = field.why or f"the spec gives {field.path} as {field.kind}"
        if field.required:
            rules.append(Rule(f"{base}.required", field.missing, what, spec.anchor))
        rules.append(
            Rule(f"{base}.type", "error", f"{field.path} is {field.kind}: {what}", spec.anchor)
        )
        if field.enum:
            allowed = ", ".join(repr(value) for value in field.enum)
            rules.append(Rule(f"{base}.enum", "error", f"one of {allowed}: {what}", spec.anchor))
        if field.quirks:
            rules.append(Rule(f"{base}.quirk", "warning", field.quirk_why, spec.anchor))
    if spec.reply:
        base = spec.msg_type
        rules.append(
            Rule(f"{base}.status.required", "error", "every reply has a status", "request-reply")
        )
        rules.append(
            Rule(
                f"{base}.status.enum",
                "error",
                "status is 'ok', 'error' or 'aborted' (not 'abort', not 'failed')",
                "request-reply",
            )
        )
        for field in ERROR_FIELDS:
            rules.append(
                Rule(f"{base}.{field.path}.required", field.missing, field.why, "request-reply")
            )
            rules.append(
                Rule(
                    f"{base}.{field.path}.type",
                    "error",
                    f"{field.path} is {field.kind}",
                    "request-reply",
                )
            )
    return rules


def _all_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for rule in (*_HEADER_RULES, *_OTHER_RULES, *(r for s in MESSAGES for r in _field_rules(s))):
        if rule.id in rules:
            raise AssertionError(f"rule {rule.id} is defined twice")
        rules[rule.id] = rule
    return rules


RULES: Final[dict[str, Rule]] = _all_rules()
