"""Target resolution: ids, prefixes, paths, and the errors that say what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jpf_widget import (
    AmbiguousKernelError,
    ConnectionFileError,
    KernelNotFoundError,
    list_kernels,
    resolve_target,
)
from jpf_widget.kernels import read_connection_file

GOOD = {
    "shell_port": 5001,
    "iopub_port": 5002,
    "stdin_port": 5003,
    "control_port": 5004,
    "hb_port": 5005,
    "ip": "127.0.0.1",
    "key": "secret-key-123",
    "transport": "tcp",
    "signature_scheme": "hmac-sha256",
    "kernel_name": "python3",
}


def write(folder: Path, name: str, content: object) -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_resolves_id_prefix_name_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, "kernel-abcd1234-0000.json", GOOD)
    write(tmp_path, "kernel-ffff0000-1111.json", GOOD)
    for target in ("abcd1234-0000", "abcd", "kernel-abcd1234-0000.json", str(path)):
        info = resolve_target(target, tmp_path)
        assert info.kernel_id == "abcd1234-0000", target
        assert info.iopub_port == 5002
        assert info.url("iopub") == "tcp://127.0.0.1:5002"


def test_ambiguous_prefix_lists_candidates(tmp_path: Path) -> None:
    write(tmp_path, "kernel-abc-1.json", GOOD)
    write(tmp_path, "kernel-abc-2.json", GOOD)
    with pytest.raises(AmbiguousKernelError) as error:
        resolve_target("abc", tmp_path)
    text = str(error.value)
    assert "matches 2 kernels" in text
    assert "abc-1" in text
    assert "abc-2" in text
    assert "type more of the id" in text


def test_not_found_lists_running_kernels(tmp_path: Path) -> None:
    write(tmp_path, "kernel-1111.json", GOOD)
    with pytest.raises(KernelNotFoundError) as error:
        resolve_target("9999", tmp_path)
    assert "no kernel matches '9999'" in str(error.value)
    assert "1111" in str(error.value)


def test_not_found_in_empty_runtime_dir_says_so(tmp_path: Path) -> None:
    with pytest.raises(KernelNotFoundError, match="No kernels are running"):
        resolve_target("9999", tmp_path)


def test_missing_path_is_a_connection_file_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectionFileError, match="does not exist"):
        resolve_target(str(tmp_path / "gone" / "kernel-x.json"), tmp_path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ({"ip": "127.0.0.1"}, "lacks shell_port, iopub_port"),
        ({**GOOD, "signature_scheme": "md5-rot13"}, "unknown signature_scheme"),
        ({**GOOD, "signature_scheme": "hmac-nosuchhash"}, "unknown signature_scheme"),
        ({**GOOD, "signature_scheme": "hmac-shake_128"}, "unknown signature_scheme"),
        ({**GOOD, "iopub_port": "x"}, "iopub_port is 'x', not a port"),
        ({**GOOD, "transport": "udp"}, "transport 'udp' is not supported"),
        ({**GOOD, "key": 5}, "key is not a string"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(
    tmp_path: Path, content: object, expected: str
) -> None:
    path = write(tmp_path, "kernel-bad.json", content)
    with pytest.raises(ConnectionFileError) as error:
        resolve_target(str(path), tmp_path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_unreadable_file_says_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "kernel-dir.json"
    folder.mkdir()  # a directory cannot be read as a file, even by root
    with pytest.raises(ConnectionFileError, match="cannot read connection file"):
        read_connection_file(folder)


def test_empty_key_is_legal_and_key_is_never_in_repr(tmp_path: Path) -> None:
    info = resolve_target(str(write(tmp_path, "kernel-k.json", GOOD)), tmp_path)
    assert "secret-key-123" not in repr(info)
    assert "secret-key-123" not in json.dumps(info.public())
    unsigned = resolve_target(str(write(tmp_path, "kernel-u.json", {**GOOD, "key": ""})))
    assert unsigned.key == b""


def test_list_kernels_skips_broken_files(tmp_path: Path) -> None:
    write(tmp_path, "kernel-good.json", GOOD)
    write(tmp_path, "kernel-broken.json", "{")
    write(tmp_path, "nbserver-1.json", {"port": 8888})
    assert [k.kernel_id for k in list_kernels(tmp_path)] == ["good"]
