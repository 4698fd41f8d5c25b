"""The ``jpf`` command.

::

    jpf list                                   the kernels one can attach to
    jpf tap install [--name python3] [--user | --sys-prefix | --prefix DIR]
    jpf tap uninstall [--name python3] [--user | --sys-prefix | --prefix DIR]
    jpf tap status KERNEL                      the tap's health and counts for a kernel

Each subcommand is a function ``(args) -> exit status`` set as the subparser's ``run`` default;
a new one adds a subparser in :func:`build_parser` (or a group of them, as ``tap`` does).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .kernels import list_kernels, resolve_target
from .tap import tap_info, tap_status
from .tap.kernelspec import install, uninstall

__all__ = ["build_parser", "main"]


def _list(args: argparse.Namespace) -> int:
    kernels = list_kernels(servers=not args.no_servers)
    if args.json:
        print(json.dumps([vars(k) for k in kernels], indent=1))
        return 0
    if not kernels:
        print("no kernels running")
        return 0
    for kernel in kernels:
        tapped = " (tapped)" if kernel.connection_file and tap_info(kernel.connection_file) else ""
        where = kernel.notebook or kernel.connection_file
        state = f" {kernel.execution_state}" if kernel.execution_state else ""
        print(f"{kernel.kernel_id}  {kernel.kernel_name}{tapped}{state}  {where}")
    return 0


def _location(args: argparse.Namespace) -> dict[str, object]:
    if args.prefix is not None:
        return {"prefix": args.prefix}
    if args.sys_prefix:
        return {"prefix": sys.prefix}
    return {"user": True}


def _tap_install(args: argparse.Namespace) -> int:
    folder = install(args.name, **_location(args))  # type: ignore[arg-type]
    print(f"installed kernelspec {folder.name} in {folder}")
    return 0


def _tap_uninstall(args: argparse.Namespace) -> int:
    folder = uninstall(args.name, **_location(args))  # type: ignore[arg-type]
    print(f"removed kernelspec {folder.name} from {folder.parent}")
    return 0


def _tap_status(args: argparse.Namespace) -> int:
    target = resolve_target(args.kernel)
    tap = tap_info(target.connection_file)
    if tap is None:
        print(f"kernel {target.kernel_id} is not tapped (jpf tap install, then start it tapped)")
        return 1
    status = tap_status(tap)
    print(json.dumps({"url": tap.url, **status}, indent=1))
    return 0 if status.get("health") == "ok" else 1


def _add_location(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--user", action="store_true", help="the user's Jupyter data dir (the default)"
    )
    where.add_argument(
        "--sys-prefix", action="store_true", help="this Python environment (sys.prefix)"
    )
    where.add_argument("--prefix", metavar="DIR", help="DIR/share/jupyter/kernels")


def build_parser() -> argparse.ArgumentParser:
    """The ``jpf`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="jpf", description="Jupyter kernel message monitor.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the kernels one can attach to")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.add_argument(
        "--no-servers", action="store_true", help="connection files only, no Jupyter servers"
    )
    listing.set_defaults(run=_list)

    tap = commands.add_parser("tap", help="a relay in front of kernels that captures all traffic")
    tap_commands = tap.add_subparsers(dest="tap_command", metavar="TAP_COMMAND", required=True)
    install = tap_commands.add_parser(
        "install", help="write the kernelspec NAME-tap, which starts NAME behind the tap"
    )
    install.add_argument("--name", default="python3", help="the kernelspec to tap (python3)")
    _add_location(install)
    install.set_defaults(run=_tap_install)
    uninstall = tap_commands.add_parser("uninstall", help="remove the kernelspec NAME-tap")
    uninstall.add_argument("--name", default="python3", help="the tapped kernelspec's base name")
    _add_location(uninstall)
    uninstall.set_defaults(run=_tap_uninstall)
    status = tap_commands.add_parser("status", help="a tapped kernel's tap: health and counts")
    status.add_argument("kernel", help="kernel id, id prefix or connection file")
    status.set_defaults(run=_tap_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``jpf``; errors the user can fix are one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (RuntimeError, ConnectionError, OSError, LookupError, ValueError) as exc:
        print(f"jpf: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
