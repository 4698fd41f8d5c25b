"""What pip installs: declared dependencies, the sdist, and the wheel built from it.

- Every third-party module jpf_widget imports is a declared dependency, and every declared
  dependency is imported (or says why not); each has a lower bound, and the lower bounds are
  what the oldest environment pins and tests (``env/oldest.txt``, tests/test_oldest_kernel.py).
- The sdist holds what building needs: a wheel built from it, with no bundle to start from,
  holds the esbuild bundle and the compiled ``_wire`` and ``_trace`` modules, and installed
  into a new venv it imports (the package from that venv, not this work tree) and
  ``list_kernels()`` runs.

The build runs without isolation, with this environment's hatchling and hatch-jupyter-builder,
and npm prefers its cache (which installing this work tree filled), so no registry is asked.
The venv gets the wheel alone; its dependencies come from this environment's site-packages
through a ``.pth`` line (which does not bring this environment's editable install along).
``docs/releasing.md`` has the same steps with a fully isolated build.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import Kernel
from .test_oldest_kernel import pins

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# Declared, though no module of the package imports them, and why.
NOT_IMPORTED = {
    "ipywidgets": "a Monitor is an ipywidgets widget (anywidget's base class): held to 8.x",
}
# ipykernel versions whose threads' comm messages are dropped (ipywidgets issues 4001, 4020)
BROKEN_KERNELS = ("7.0.0", "7.0.1")


def _guarded(tree: ast.AST) -> set[int]:
    """The ids of the import nodes that may fail or never run: under ``try: ... except
    ImportError`` (optional) or ``if TYPE_CHECKING:`` (for mypy only)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        body: list[ast.stmt] = []
        if isinstance(node, ast.Try):
            caught = [ast.unparse(h.type) for h in node.handlers if h.type is not None]
            if any("ImportError" in c or "ModuleNotFoundError" in c for c in caught):
                body = node.body
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            body = node.body
        guarded.update(id(inner) for stmt in body for inner in ast.walk(stmt))
    return guarded


def third_party_imports() -> tuple[set[str], set[str]]:
    """The top-level names of the modules the package imports: (always, optionally)."""
    always: set[str] = set()
    optional: set[str] = set()
    for path in sorted((ROOT / "jpf_widget").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            tops = {name.split(".")[0] for name in names}
            (optional if id(node) in guarded else always).update(tops)
    ours = set(sys.stdlib_module_names) | {"jpf_widget"}
    return always - ours, optional - ours - always


def distribution(module: str) -> str:
    """The installed distribution that provides the top-level module ``module``."""
    found = packages_distributions().get(module)
    assert found, f"jpf_widget imports {module}, which no installed distribution provides"
    return canonicalize_name(found[0])


def requirements(specs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, specs)}


def lower_bound(requirement: Requirement) -> Version:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    assert len(bounds) == 1, f"{requirement} needs one lower bound (>=)"
    return bounds[0]


def test_dependencies_are_what_the_package_imports() -> None:
    always, optional = third_party_imports()
    imported = {distribution(module) for module in always}
    declared = set(requirements(PROJECT["dependencies"]))
    assert imported - declared == set(), "imported, not declared"
    assert declared - imported - set(NOT_IMPORTED) == set(), "declared, never imported"
    assert set(NOT_IMPORTED) <= declared
    # an optional import (IPython, there when the Monitor runs in a kernel) needs no declaring
    assert "IPython" in optional


def test_lower_bounds_are_the_oldest_environment() -> None:
    oldest = pins()
    declared = requirements(PROJECT["dependencies"])
    assert set(oldest) - {"ipykernel"} == set(declared)
    for name, requirement in declared.items():
        assert lower_bound(requirement) == Version(oldest[name]), name

    # the monitoring kernels supported: the oldest 6.x in .venv-oldest, the newest 7.x here
    kernels = requirements(PROJECT["optional-dependencies"]["test"])["ipykernel"]
    assert lower_bound(kernels) == Version(oldest["ipykernel"])
    assert Version(oldest["ipykernel"]).major == 6
    assert not any(kernels.specifier.contains(broken) for broken in BROKEN_KERNELS)
    here = version("ipykernel")
    assert Version(here).major == 7, here
    assert kernels.specifier.contains(here), here


def run(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist of this work tree, and the wheel built from it, in one folder."""
    out = tmp_path_factory.mktemp("dist")
    # the sdist takes the bundle as built in the work tree (the jupyter-builder hook would
    # rebuild it there); the wheel below rebuilds it from the sdist's sources
    skip_npm = {"SKIP_JUPYTER_BUILDER": "1"}
    run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", out, ROOT, env=skip_npm)
    [sdist] = out.glob("jpf_widget-*.tar.gz")
    source = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(source, filter="data")
    [tree] = source.iterdir()
    assert not (tree / "js" / "node_modules").exists()
    for built in (tree / "jpf_widget").glob("static/*"):
        built.unlink()  # so the bundle in the wheel is one the sdist's sources built
    quiet_npm = {
        "npm_config_prefer_offline": "true",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, tree,
        env=quiet_npm)  # fmt: skip
    return out


def test_the_wheel_holds_the_bundle_and_the_compiled_modules(dist: Path) -> None:
    [wheel] = dist.glob("jpf_widget-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        bundle = archive.read("jpf_widget/static/widget.js")
        info = f"jpf_widget-{PROJECT['version']}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        tags = archive.read(f"{info}/WHEEL").decode()
    assert "Root-Is-Purelib: false" in tags  # a wheel for this Python and platform
    assert "Tag: py3-none-any" not in tags
    for module in ("_wire", "_trace"):
        assert f"jpf_widget/{module}{sysconfig.get_config_var('EXT_SUFFIX')}" in names
    assert "jpf_widget/static/widget.css" in names
    assert b"render" in bundle
    assert len(bundle) > 10_000
    required = [line.split(": ", 1)[1] for line in metadata.splitlines() if "Requires-Dist" in line]
    in_wheel = {n: r.specifier for n, r in requirements(required).items() if not r.marker}
    assert in_wheel == {n: r.specifier for n, r in requirements(PROJECT["dependencies"]).items()}


CHECK = """
import pathlib, sys
import jpf_widget, jpf_widget._wire, jpf_widget._trace
from jpf_widget.widget import Monitor
installed = pathlib.Path(sys.prefix)
for module in (jpf_widget, jpf_widget._wire, jpf_widget._trace):
    assert installed in pathlib.Path(module.__file__).parents, module.__file__
bundle = pathlib.Path(jpf_widget.__file__).parent / "static" / "widget.js"
assert str(Monitor._esm) == bundle.read_text(), "the widget does not load the bundle"
print(jpf_widget.__version__, *[k.kernel_id for k in jpf_widget.list_kernels()])
"""


def test_the_wheel_installs_and_imports_in_a_new_venv(
    dist: Path, kernel: Kernel, tmp_path: Path
) -> None:
    [wheel] = dist.glob("jpf_widget-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python)
    run(*pip, "install", "--no-deps", "--no-index", wheel)
    # the dependencies: this environment's site-packages, as a plain path (its .pth files,
    # among them the editable install of this work tree, are not read from there)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # -I: no PYTHONPATH, no user site, and not the current folder on sys.path
    printed = run(python, "-I", "-c", CHECK, cwd=tmp_path).split()
    # the version the metadata says, and the kernels in this test run's runtime dir (the one
    # this test started among them: the runtime dir is shared by the whole run)
    assert printed[0] == PROJECT["version"]
    assert kernel.kernel_id in printed[1:]
