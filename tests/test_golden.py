"""Golden outputs: every scenario's files as recorded in tests/golden/ (regenerate.py).

A refactoring must leave them unchanged; a change of the model that moves a
figure regenerates them and says which figures moved and why. Figures are
compared to 1e-12 relative (the last digits may differ between numpy builds),
CSV numbers, written to 12 significant digits, to 2e-11 (a last digit may round
the other way), text exactly.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

from regenerate import golden_texts  # noqa: E402

RTOL = 1e-12
RTOL_CSV = 2e-11  #: CSV files hold 12 significant digits (finmodel.outputs.report.CSV_FLOAT)


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return golden_texts()


def _same(a, b, where: str, rtol: float = RTOL) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            _same(a[key], b[key], f"{where}.{key}", rtol)
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]", rtol)
    elif isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        assert math.isclose(a, b, rel_tol=rtol, abs_tol=1e-6), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _compare(name: str, got: str, expected: str) -> None:
    if name.endswith(".json"):
        _same(json.loads(got), json.loads(expected), name)
    elif name.endswith(".csv"):
        rows = [[_number(x) for x in row] for row in csv.reader(io.StringIO(got))]
        want = [[_number(x) for x in row] for row in csv.reader(io.StringIO(expected))]
        _same(rows, want, name, RTOL_CSV)
    else:  # pragma: no cover - no other kind is recorded
        assert got == expected, name


def test_outputs_equal_the_golden_files(texts):
    recorded = sorted(p for p in GOLDEN.rglob("*") if p.is_file() and p.suffix in (".json", ".csv"))
    assert {str(p.relative_to(GOLDEN)) for p in recorded} == set(texts), (
        "scenarios or outputs changed: run tests/golden/regenerate.py and review the diff"
    )
    for path in recorded:
        name = str(path.relative_to(GOLDEN))
        _compare(name, texts[name], path.read_text(encoding="utf-8"))
