"""The architecture: layers named by the subpackages, dependencies pointing one way.

``finmodel/core`` (timeline, tax, cash-flow lines, metrics, compiled kernels)
imports nothing of finmodel; ``scenario`` (YAML, units, declarations,
validation) imports core only; ``engine`` imports core and scenario;
``analysis`` imports the engine (and what it stands on); ``outputs`` import
the engine and analysis; ``cli`` may import everything. Only ``outputs`` (and
the CLI that calls it) write files, only ``cli`` exits, and the computing
layers neither print nor import matplotlib. ``finmodel._version`` may be
imported from anywhere.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "finmodel"
LAYERS = ("core", "scenario", "engine", "analysis", "outputs")
#: The finmodel layers each layer may import (besides itself and finmodel._version).
ALLOWED = {
    "core": set(),
    "scenario": {"core"},
    "engine": {"core", "scenario"},
    "analysis": {"core", "scenario", "engine"},
    "outputs": {"core", "scenario", "engine", "analysis"},
    "cli": {"core", "scenario", "engine", "analysis", "outputs"},
}
#: Outside packages a layer must not import (computing never touches files, YAML or plots).
FORBIDDEN = {
    "core": {
        "matplotlib",
        "yaml",
        "pathlib",
        "os",
        "io",
        "shutil",
        "tempfile",
        "openpyxl",
        "logging",
        "pandas",
    },
    "scenario": {"matplotlib", "openpyxl", "shutil", "tempfile", "logging"},
    "engine": {"matplotlib", "yaml", "pathlib", "os", "io", "shutil", "tempfile", "openpyxl", "logging"},
    "analysis": {"matplotlib", "yaml", "shutil", "tempfile", "openpyxl", "logging"},
    "outputs": {"logging"},
}
#: Method calls that write or move files (str.replace shares a name with Path.replace: not listed).
WRITE_CALLS = {"write_text", "write_bytes", "mkdir", "savefig", "save", "rename", "unlink", "rmtree"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return rel.stem  # cli, __init__, _version


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(outside top-level packages, finmodel layers) imported by a module, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    outside, inside = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import (write finmodel.LAYER.module)"
            names = [node.module or ""]
        else:
            continue
        for name in names:
            if name == "finmodel" or name.startswith("finmodel."):
                parts = name.split(".")
                if len(parts) > 1 and parts[1] != "_version":
                    inside.add(parts[1])
            else:
                outside.add(name.split(".")[0])
    return outside, inside


def test_every_module_sits_in_a_layer():
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == {"__init__.py", "_version.py", "cli.py"}, f"modules outside the layers: {loose}"
    for layer in LAYERS:
        assert (PACKAGE / layer / "__init__.py").is_file(), layer


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    layer = _layer(path)
    outside, inside = _imports(path)
    if layer in ALLOWED:
        allowed = ALLOWED[layer] | {layer}
        assert inside <= allowed, f"{layer} module {path.name} imports finmodel.{sorted(inside - allowed)}"
    assert not outside & FORBIDDEN.get(layer, set()), f"{path.name} imports {outside & FORBIDDEN[layer]}"


def _calls(path: Path) -> tuple[set[str], set[str]]:
    """(plain function names called, attribute names called) in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names, attrs = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                attrs.add(node.func.attr)
    return names, attrs


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_outputs_write_and_only_cli_exits(path):
    layer = _layer(path)
    names, attrs = _calls(path)
    if layer != "cli":
        assert not names & {"exit", "quit"} and "exit" not in attrs, f"{path.name} exits"
    if layer in ("core", "engine", "analysis"):
        assert not names & {"print", "open", "input", "breakpoint"}, f"{path.name} prints or opens files"
        assert not attrs & WRITE_CALLS, f"{path.name} calls {attrs & WRITE_CALLS}"
    if layer == "scenario":  # reads files, never writes
        assert not names & {"print", "input", "breakpoint"}
        assert not attrs & WRITE_CALLS, f"{path.name} calls {attrs & WRITE_CALLS}"


def _fresh_python(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_finmodel_and_run_load_no_matplotlib():
    got = _fresh_python(
        "import json, sys\n"
        "import finmodel\n"
        "finmodel.run(finmodel.load_scenario('scenarios/base.yaml'))\n"
        "print(json.dumps({m: m in sys.modules for m in ('matplotlib', 'openpyxl')}))\n"
    )
    assert got == {"matplotlib": False, "openpyxl": False}


def test_core_alone_loads_no_yaml_pandas_or_other_layer():
    # An empty stand-in for the package, so finmodel/__init__ (and the loader) never runs.
    got = _fresh_python(
        "import json, sys, types, importlib, pkgutil\n"
        f"pkg = types.ModuleType('finmodel'); pkg.__path__ = [{str(PACKAGE)!r}]\n"
        "sys.modules['finmodel'] = pkg\n"
        "core = importlib.import_module('finmodel.core')\n"
        "names = [m.name for m in pkgutil.iter_modules(core.__path__) if m.name != '_kernels']\n"
        "for name in names:\n"
        "    importlib.import_module('finmodel.core.' + name)\n"
        "layers = sorted({m.split('.')[1] for m in sys.modules if m.startswith('finmodel.')})\n"
        "print(json.dumps({'yaml': 'yaml' in sys.modules, 'matplotlib': 'matplotlib' in sys.modules,\n"
        "                  'pandas': 'pandas' in sys.modules, 'layers': layers, 'n': len(names)}))\n"
    )
    assert got["n"] >= 4
    assert got == {"yaml": False, "matplotlib": False, "pandas": False, "layers": ["core"], "n": got["n"]}
    # numba itself imports yaml (for its optional config file): the compiled kernels load on first use
