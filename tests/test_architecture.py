"""The architecture rules: computing imports no matplotlib, yaml or file paths.

Dependencies point one way, ``cli/report/charts -> model ->
cashflow/tax/metrics -> timeline/units``. ``finmodel/__init__`` imports the
scenario loader (and so yaml), so the compute modules are also loaded on their
own, without the package ``__init__``, to show that they need neither.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
from conftest import ROOT

PACKAGE = ROOT / "finmodel"
COMPUTE = ("units", "timeline", "tax", "cashflow", "metrics")
# finmodel modules each compute module may import (relative imports); _kernels
# holds the compiled loops (numba) behind timeline, metrics and model.
ALLOWED = {
    "_kernels": set(),
    "units": set(),
    "timeline": {"units", "_kernels"},
    "tax": {"timeline", "units", "_kernels"},
    "cashflow": {"timeline", "units", "_kernels"},
    "metrics": {"timeline", "units", "_kernels"},
    "model": {
        "",
        "scenario",
        "cashflow",
        "tax",
        "metrics",
        "timeline",
        "units",
        "_kernels",
    },  # "": the package
}
FORBIDDEN = {
    "matplotlib",
    "yaml",
    "pathlib",
    "os",
    "io",
    "shutil",
    "tempfile",
    "openpyxl",
    "logging",
}


def _fresh_python(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_model_loads_no_matplotlib():
    got = _fresh_python(
        "import json, sys\n"
        "import finmodel.model\n"
        "names = ('matplotlib', 'matplotlib.pyplot', 'yaml')\n"
        "print(json.dumps({m: m in sys.modules for m in names}))\n"
    )
    assert got["matplotlib"] is False and got["matplotlib.pyplot"] is False
    assert got["yaml"] is True  # realistic: finmodel/__init__ imports the scenario loader


def test_compute_modules_alone_load_no_yaml_or_matplotlib():
    # An empty stand-in for the package, so finmodel/__init__ (and the loader) never runs.
    got = _fresh_python(
        "import json, sys, types\n"
        f"pkg = types.ModuleType('finmodel'); pkg.__path__ = [{str(PACKAGE)!r}]\n"
        "sys.modules['finmodel'] = pkg\n"
        "import importlib\n"
        f"for name in {COMPUTE!r}:\n"
        "    importlib.import_module('finmodel.' + name)\n"
        "watch = {'yaml': 'yaml', 'matplotlib': 'matplotlib', 'scenario': 'finmodel.scenario',\n"
        "         'pandas': 'pandas'}\n"
        "out = {key: name in sys.modules for key, name in watch.items()}\n"
        "importlib.import_module('finmodel._kernels')  # compiled loops, imported on first use\n"
        "out['kernels_matplotlib'] = 'matplotlib' in sys.modules\n"
        "print(json.dumps(out))\n"
    )
    assert got == {
        "yaml": False,
        "matplotlib": False,
        "scenario": False,
        "pandas": False,
        "kernels_matplotlib": False,
    }
    # numba itself imports yaml (for its optional config file): yaml is not checked after _kernels


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(outside top-level names, finmodel modules) imported by ``finmodel/<module>.py``."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    outside, inside = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (inside if alias.name.startswith("finmodel") else outside).add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                inside.add(node.module or "")
            elif node.module and node.module.startswith("finmodel"):
                inside.add(node.module.split(".", 1)[1] if "." in node.module else "")
            elif node.module:
                outside.add(node.module.split(".")[0])
    return outside, inside


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_compute_imports_point_one_way(module):
    outside, inside = _imports(module)
    assert not (outside & FORBIDDEN), f"{module} imports {outside & FORBIDDEN}"
    assert inside <= ALLOWED[module], f"{module} imports finmodel.{inside - ALLOWED[module]}"


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_compute_modules_neither_print_nor_open_files(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not calls & {"print", "open", "input", "breakpoint"}
