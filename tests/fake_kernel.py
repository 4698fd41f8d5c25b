"""A fake kernel for the linter's tests: real zmq sockets, messages signed by jupyter_client's
Session, and a behaviour the test chooses, message by message.

Run as a kernel (``python fake_kernel.py CONNECTION_FILE``, what :func:`kernelspec` writes).
It answers kernel_info, heartbeats and shutdown as a kernel should. An ``execute_request``'s
code is the name of a scenario (:data:`SCENARIOS`): the kernel answers it well, or breaks one
rule of the messaging spec on purpose. Every message the kernel sends carries in its metadata
``{"expect": [rule ids]}``: the rules the linter must flag on it, [] for a valid message. A
scenario ends with a custom ``fake_done`` message on iopub, parented to its request (custom
msg_types are not violations), so a test knows when it is over.

Requests other than execute get a valid reply, except: ``complete_request`` (cursor_start a
string), ``is_complete_request`` (status "maybe"), ``history_request`` (a parent_header of
another msg_type), ``comm_info_request`` (no parent_header), and ``kernel_info_request`` on
control (no status, a bad protocol_version and supported_features).
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.session import Session

Msg = dict[str, Any]


class FakeKernel:
    def __init__(self, connection_file: str) -> None:
        info = json.loads(Path(connection_file).read_text())
        self.session = Session(
            key=info["key"].encode(), signature_scheme=info["signature_scheme"], username="fake"
        )
        self.context = zmq.Context()
        url = f"{info['transport']}://{info['ip']}:"
        self.sockets: dict[str, zmq.Socket[bytes]] = {}
        for name, kind in (
            ("shell", zmq.ROUTER),
            ("control", zmq.ROUTER),
            ("stdin", zmq.ROUTER),
            ("iopub", zmq.PUB),
            ("hb", zmq.REP),
        ):
            socket = self.context.socket(kind)
            socket.linger = 1000
            socket.bind(url + str(info[f"{name}_port"]))
            self.sockets[name] = socket
        self.count = 0
        self.running = True

    # -- sending ---------------------------------------------------------------------------------

    def message(
        self, msg_type: str, content: Any, parent: Msg | None, expect: tuple[str, ...] = ()
    ) -> Msg:
        msg = self.session.msg(msg_type, content, parent=parent or {})
        msg["metadata"] = {"expect": list(expect)}
        return msg

    def send(self, channel: str, msg: Msg, idents: list[bytes] | None = None) -> None:
        self.session.send(self.sockets[channel], msg, ident=idents)

    def publish(
        self, msg_type: str, content: Any, parent: Msg | None, *expect: str, **header: Any
    ) -> Msg:
        msg = self.message(msg_type, content, parent, expect)
        for name, value in header.items():
            if value is _DROP:
                del msg["header"][name]
            else:
                msg["header"][name] = value
        self.send("iopub", msg)
        return msg

    def status(self, state: str, parent: Msg, *expect: str) -> None:
        self.publish("status", {"execution_state": state}, parent, *expect)

    def reply(
        self,
        parent: Msg,
        idents: list[bytes],
        channel: str,
        content: Msg,
        *expect: str,
        msg_type: str = "",
    ) -> Msg:
        msg_type = msg_type or parent["header"]["msg_type"].replace("_request", "_reply")
        msg = self.message(msg_type, content, parent, expect)
        self.send(channel, msg, idents)
        return msg

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        poller = zmq.Poller()
        for name in ("shell", "control", "stdin", "hb"):
            poller.register(self.sockets[name], zmq.POLLIN)
        self.publish("status", {"execution_state": "starting"}, None)
        while self.running:
            for socket, _ in poller.poll(1000):
                frames = socket.recv_multipart()
                if socket is self.sockets["hb"]:
                    socket.send_multipart(frames)
                    continue
                channel = next(n for n, s in self.sockets.items() if s is socket)
                if channel == "stdin":
                    continue  # input replies: nothing to do
                idents, rest = self.session.feed_identities(frames)
                self.handle(channel, idents, self.session.deserialize(rest))
        for socket in self.sockets.values():
            socket.close()
        self.context.term()

    def handle(self, channel: str, idents: list[bytes], request: Msg) -> None:
        msg_type = request["header"]["msg_type"]
        if msg_type == "execute_request":
            scenario = SCENARIOS.get(request["content"]["code"].strip(), _valid_execute)
            scenario(self, channel, idents, request)
            self.publish("fake_done", {}, request)
            return
        self.status("busy", request)
        if msg_type == "kernel_info_request":
            self.kernel_info(channel, idents, request)
        elif msg_type == "shutdown_request":
            self.reply(request, idents, channel, {"status": "ok", "restart": False})
            self.running = False
        elif msg_type == "complete_request":
            content = {"status": "ok", "matches": [], "cursor_start": "0", "cursor_end": 0}
            content["metadata"] = {}
            self.reply(request, idents, channel, content, "complete_reply.cursor_start.type")
        elif msg_type == "is_complete_request":
            self.reply(
                request, idents, channel, {"status": "maybe"}, "is_complete_reply.status.enum"
            )
        elif msg_type == "history_request":
            msg = self.message(
                "history_reply",
                {"status": "ok", "history": []},
                request,
                ("parent_header.msg_type",),
            )
            msg["parent_header"]["msg_type"] = "execute_request"
            self.send(channel, msg, idents)
        elif msg_type == "comm_info_request":
            msg = self.message(
                "comm_info_reply", {"status": "ok", "comms": {}}, None, ("parent_header.required",)
            )
            self.send(channel, msg, idents)
        elif msg_type.endswith("_request"):
            self.reply(request, idents, channel, {"status": "ok"})
        self.status("idle", request)
        self.publish("fake_done", {}, request)

    def kernel_info(self, channel: str, idents: list[bytes], request: Msg) -> None:
        content: Msg = {
            "status": "ok",
            "protocol_version": "5.4",
            "implementation": "fake",
            "implementation_version": "1.0",
            "language_info": {"name": "fake", "version": "1.0", "file_extension": ".fake"},
            "banner": "a fake kernel",
            "help_links": [],
        }
        if channel == "shell":
            self.reply(request, idents, channel, content)
            return
        del content["status"]
        content["protocol_version"] = "5.x"
        content["language_info"] = {}
        self.reply(
            request,
            idents,
            channel,
            content,
            "kernel_info_reply.status.required",
            "kernel_info_reply.protocol_version.format",
            "kernel_info_reply.language_info.name.required",
        )


_DROP = object()


def _valid_execute(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    """busy, execute_input, a stream, the reply, idle: all valid."""
    kernel.count += 1
    kernel.status("busy", request)
    kernel.publish("execute_input", {"code": "x", "execution_count": kernel.count}, request)
    kernel.publish("stream", {"name": "stdout", "text": "hi\n"}, request)
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
    kernel.status("idle", request)


def _outputs(*publish: tuple[str, Any, tuple[str, ...], dict[str, Any]]) -> Callable[..., None]:
    """A scenario: a valid request whose outputs are these (msg_type, content, expect, header)."""

    def scenario(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
        kernel.count += 1
        kernel.status("busy", request)
        kernel.publish("execute_input", {"code": "x", "execution_count": kernel.count}, request)
        for msg_type, content, expect, header in publish:
            kernel.publish(msg_type, content, request, *expect, **header)
        kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
        kernel.status("idle", request)

    return scenario


def _one(msg_type: str, content: Any, rule: str, **header: Any) -> Callable[..., None]:
    return _outputs((msg_type, content, (rule,) if rule else (), header))


_TEXT = {"name": "stdout", "text": "x\n"}
_DISPLAY = {"data": {"text/plain": "x"}, "metadata": {}}


def _reply_with(content: Msg, *expect: str) -> Callable[..., None]:
    """A scenario: busy, this reply, idle."""

    def scenario(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
        kernel.status("busy", request)
        if "execution_count" in content:
            kernel.count += 1
            content["execution_count"] = kernel.count
        kernel.reply(request, idents, channel, content, *expect)
        kernel.status("idle", request)

    return scenario


def _no_busy(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.publish("stream", _TEXT, request, "sequence.busy.missing")
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
    kernel.status("idle", request)


def _no_idle(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    # the idle never comes: flagged on the busy, the thread's first message, once capture ends
    kernel.status("busy", request, "sequence.idle.missing")
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})


def _late_output(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.status("busy", request)
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
    kernel.status("idle", request)
    kernel.publish("stream", _TEXT, request, "sequence.output.after_idle")


def _late_input(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.status("busy", request)
    kernel.publish("stream", _TEXT, request)
    kernel.publish(
        "execute_input",
        {"code": "x", "execution_count": kernel.count},
        request,
        "sequence.execute_input.late",
    )
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
    kernel.status("idle", request)


def _count_back(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.status("busy", request)
    kernel.publish(
        "execute_input",
        {"code": "x", "execution_count": kernel.count - 1},
        request,
        "sequence.execution_count.increasing",
    )
    kernel.reply(
        request,
        idents,
        channel,
        {"status": "ok", "execution_count": kernel.count - 1},
        "sequence.execution_count.increasing",
    )
    kernel.status("idle", request)


def _two_replies(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.status("busy", request)
    content = {"status": "ok", "execution_count": kernel.count}
    kernel.reply(request, idents, channel, content)
    kernel.reply(request, idents, channel, content, "sequence.reply.duplicate")
    kernel.status("idle", request)


def _wrong_reply(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.status("busy", request)
    content = {"status": "ok", "matches": [], "cursor_start": 0, "cursor_end": 0, "metadata": {}}
    msg = kernel.message(
        "complete_reply", content, request, ("sequence.reply.type", "parent_header.msg_type")
    )
    kernel.send(channel, msg, idents)
    kernel.status("idle", request)


def _other_channel(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.status("busy", request)
    other = "control" if channel == "shell" else "shell"
    content = {"status": "ok", "execution_count": kernel.count}
    msg = kernel.message("execute_reply", content, request, ("sequence.reply.channel",))
    kernel.send(other, msg, idents)
    kernel.status("idle", request)


def _no_reply(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.status("busy", request)
    kernel.status("idle", request)


def _stranger(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    """An output parented to a request no client sent (dated now: it could have been seen)."""
    _valid_execute(kernel, channel, idents, request)
    stranger = kernel.session.msg("execute_request", {"code": "?"})
    kernel.publish("stream", _TEXT, stranger, "sequence.output.unknown_parent")


def _wrong_channel(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.status("busy", request)
    kernel.send(channel, kernel.message("display_data", _DISPLAY, request, ("channel",)), idents)
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
    kernel.status("idle", request)


def _bad_input(kernel: FakeKernel, channel: str, idents: list[bytes], request: Msg) -> None:
    kernel.count += 1
    kernel.status("busy", request)
    msg = kernel.message(
        "input_request",
        {"prompt": "?", "password": "no"},
        request,
        ("input_request.password.type",),
    )
    kernel.send("stdin", msg, idents)
    kernel.reply(request, idents, channel, {"status": "ok", "execution_count": kernel.count})
    kernel.status("idle", request)


SCENARIOS: dict[str, Callable[[FakeKernel, str, list[bytes], Msg], None]] = {
    "valid": _valid_execute,
    "valid_outputs": _outputs(
        ("display_data", {**_DISPLAY, "transient": {"display_id": "d"}}, (), {}),
        ("update_display_data", {**_DISPLAY, "transient": {"display_id": "d"}}, (), {}),
        ("execute_result", {**_DISPLAY, "execution_count": 1}, (), {}),
        ("error", {"ename": "E", "evalue": "v", "traceback": ["t"]}, (), {}),
        ("clear_output", {"wait": True}, (), {}),
        ("comm_open", {"comm_id": "c", "target_name": "t", "data": {}}, (), {}),
        ("comm_msg", {"comm_id": "c", "data": {"x": 1}}, (), {}),
        ("comm_close", {"comm_id": "c", "data": {}}, (), {}),
        ("my_custom_type", {"anything": [1, 2]}, (), {}),
        ("debug_event", {"type": "event", "event": "stopped", "seq": 1}, (), {"version": "5.5"}),
        ("stream", _TEXT, (), {"date": "2026-12-04T15:00:00.123456+01:00"}),
        ("stream", _TEXT, (), {"subshell_id": None}),
    ),
    # the header
    "no_session": _one("stream", _TEXT, "header.session.required", session=_DROP),
    "no_username": _one("stream", _TEXT, "header.username.required", username=_DROP),
    "no_date": _one("stream", _TEXT, "header.date.required", date=_DROP),
    "bad_date": _one("stream", _TEXT, "header.date.format", date="yesterday"),
    "naive_date": _one("stream", _TEXT, "header.date.timezone", date="2026-12-04T15:00:00.5"),
    "no_version": _one("stream", _TEXT, "header.version.required", version=_DROP),
    "bad_version": _one("stream", _TEXT, "header.version.format", version="five"),
    "bad_subshell": _one("stream", _TEXT, "header.subshell_id.type", subshell_id=42),
    "renamed": _one("pyerr", {"ename": "E"}, "header.msg_type.renamed"),
    "too_new": _one(
        "debug_event",
        {"type": "event", "event": "stopped", "seq": 1},
        "header.msg_type.version",
        version="5.3",
    ),
    # iopub content
    "stream_name": _one("stream", {"name": "stdlog", "text": "x"}, "stream.name.enum"),
    "stream_text": _one("stream", {"name": "stdout", "text": ["x"]}, "stream.text.type"),
    "stream_data": _one("stream", {"name": "stdout", "data": "x"}, "stream.text.required"),
    "display_data": _one("display_data", {"data": "<b>", "metadata": {}}, "display_data.data.type"),
    "display_metadata": _one(
        "display_data", {"data": {"text/plain": "x"}}, "display_data.metadata.required"
    ),
    "update_transient": _one(
        "update_display_data", _DISPLAY, "update_display_data.transient.required"
    ),
    "update_display_id": _one(
        "update_display_data",
        {**_DISPLAY, "transient": {}},
        "update_display_data.transient.display_id.required",
    ),
    "input_count": _outputs(
        ("execute_input", {"code": "x"}, ("execute_input.execution_count.required",), {})
    ),
    "result_plain": _one(
        "execute_result",
        {"data": {"text/html": "<b>"}, "metadata": {}, "execution_count": 1},
        "execute_result.data.text_plain",
    ),
    "result_count": _one("execute_result", _DISPLAY, "execute_result.execution_count.required"),
    "traceback": _one(
        "error", {"ename": "E", "evalue": "v", "traceback": "t"}, "error.traceback.type"
    ),
    "state": _one("status", {"execution_state": "working"}, "status.execution_state.enum"),
    "clear_wait": _one("clear_output", {"wait": "yes"}, "clear_output.wait.type"),
    "comm_target": _one(
        "comm_open", {"comm_id": "c", "data": {}}, "comm_open.target_name.required"
    ),
    "comm_data": _one("comm_msg", {"comm_id": "c", "data": [1]}, "comm_msg.data.type"),
    "comm_id": _one("comm_close", {"comm_id": 7, "data": {}}, "comm_close.comm_id.type"),
    "debug_event": _one(
        "debug_event", {"type": "event", "seq": 1}, "debug_event.event.required", version="5.5"
    ),
    "not_json": _one("stream", b"[1, 2]", "frame.json"),  # Session sends bytes as they are
    # replies
    "abort": _reply_with({"status": "abort", "execution_count": 0}, "execute_reply.status.enum"),
    "aborted": _reply_with({"status": "aborted", "execution_count": 0}, "reply.status.aborted"),
    "reply_count": _reply_with({"status": "ok"}, "execute_reply.execution_count.required"),
    "reply_error": _reply_with(
        {"status": "error", "execution_count": 0, "ename": "E", "evalue": "v"},
        "execute_reply.traceback.required",
    ),
    "payload": _reply_with(
        {"status": "ok", "execution_count": 0, "payload": [{"source": "page"}]},
        "execute_reply.payload.deprecated",
    ),
    # sequences
    "no_busy": _no_busy,
    "no_idle": _no_idle,
    "late_output": _late_output,
    "late_input": _late_input,
    "count_back": _count_back,
    "two_replies": _two_replies,
    "wrong_reply": _wrong_reply,
    "other_channel": _other_channel,
    "no_reply": _no_reply,
    "stranger": _stranger,
    "wrong_channel": _wrong_channel,
    "bad_input": _bad_input,
}


def kernelspec(folder: Path) -> Path:
    """Write the kernelspecs ``fake`` and ``fake-tap`` (the same, behind the tap) for this
    kernel under ``folder``; returns the kernels directory to give a KernelSpecManager."""
    kernels = folder / "share" / "jupyter" / "kernels"
    argv = [sys.executable, str(Path(__file__).resolve()), "{connection_file}"]
    tap = {"kernel_provisioner": {"provisioner_name": "jpf-tap", "config": {}}}
    for name, metadata in (("fake", {}), ("fake-tap", tap)):
        (kernels / name).mkdir(parents=True, exist_ok=True)
        spec = {"argv": argv, "display_name": name, "language": "fake", "metadata": metadata}
        (kernels / name / "kernel.json").write_text(json.dumps(spec))
    return kernels


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as kernels do: an interrupt is not an exit
    FakeKernel(sys.argv[1]).run()
