"""CSV files hold numbers to 12 significant digits: no binary noise such as 0.30000000000000004."""

from __future__ import annotations

import csv
import re

from conftest import SCENARIOS

from finmodel.cli import main

_NUMBER = re.compile(r"^-?(\d+)(?:\.(\d+))?(?:e([-+]\d+))?$")


def _significant(text: str) -> int:
    m = _NUMBER.match(text)
    assert m, text
    digits = (m.group(1) + (m.group(2) or "")).lstrip("0")
    return len(digits.rstrip("0")) if m.group(2) is None else len(digits)


def _numbers(path):
    with open(path, newline="") as f:
        for row in csv.reader(f):
            for cell in row:
                if _NUMBER.match(cell):
                    yield cell


def test_sweep_and_cashflow_csvs_have_at_most_12_significant_digits(tmp_path):
    sweep = tmp_path / "sweep"
    assert (
        main(
            [
                "sweep",
                str(SCENARIOS / "base.yaml"),
                "--x",
                "policy.amic.rate=10%,20%,30%",
                "--out",
                str(sweep),
            ]
        )
        == 0
    )
    text = (sweep / "sweep.csv").read_text()
    assert "0.30000000000000004" not in text and "0.3" in text
    run = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "base.yaml"), "--out", str(run)]) == 0
    cells = list(_numbers(sweep / "sweep.csv")) + list(_numbers(run / "cashflows.csv"))
    assert cells and max(_significant(c) for c in cells) <= 12
    assert "30800000000" in (run / "cashflows.csv").read_text()  # 0.55 x 4% x $1.4T, no trailing noise
