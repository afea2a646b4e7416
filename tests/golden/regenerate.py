"""Write the golden outputs that tests/test_golden.py compares every run with.

Run from the repository root when a change of the model is meant to move
figures (say which in the commit message)::

    .venv/bin/python tests/golden/regenerate.py

For every scenario in ``scenarios/``: ``summary.json`` and ``cashflows.csv``
as ``finmodel run`` writes them. For the base scenario also a small Monte
Carlo (``montecarlo.json``, ``montecarlo_summary.csv``, ``fan_percentiles.csv``;
2,000 draws, seed 11), the tornado (``sensitivity.json``, ``tornado.csv``)
and the cell values of ``tables.xlsx`` (``tables.json``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MC_DRAWS, MC_SEED = 2000, 11


def golden_texts() -> dict[str, str]:
    """Every golden file's text, keyed by its path relative to tests/golden/."""
    import tempfile

    import finmodel
    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.analysis.sensitivity import tornado
    from finmodel.outputs import report

    texts: dict[str, str] = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        results = finmodel.run(finmodel.load_scenario(path))
        for name, text in report.render_run(results).items():
            texts[f"{path.stem}/{name}"] = text
    base = finmodel.load_scenario(ROOT / "scenarios" / "base.yaml")
    mc = run_montecarlo(base, draws=MC_DRAWS, seed=MC_SEED)
    for name, text in report.montecarlo_texts(mc).items():
        texts[f"base/{name}"] = text
    for name, text in report.sensitivity_texts(tornado(base)).items():
        texts[f"base/{name}"] = text
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = report.write_pack_xlsx(finmodel.run(base), Path(tmp) / "tables.xlsx")
        texts["base/tables.json"] = json.dumps(workbook_cells(xlsx), indent=1, sort_keys=True) + "\n"
    return texts


def workbook_cells(path: Path) -> dict[str, list[list]]:
    """Every sheet's cell values, row by row (numbers, text, None)."""
    import openpyxl

    def relative(value):  # file paths of the Inputs sheet, relative to the repository
        prefix = f"{ROOT}/"
        return value.replace(prefix, "") if isinstance(value, str) else value

    wb = openpyxl.load_workbook(path, read_only=True)
    sheets = {}
    for ws in wb.worksheets:
        sheets[ws.title] = [[relative(v) for v in row] for row in ws.iter_rows(values_only=True)]
    return sheets


def main() -> int:
    texts = golden_texts()
    for name, text in texts.items():
        target = HERE / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"wrote {len(texts)} golden files under {HERE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
