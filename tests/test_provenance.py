"""Provenance: ``finmodel sources`` lists every parameter and its origin; ``finmodel diff``."""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import SCENARIOS, all_scenarios

import finmodel
from finmodel.analysis import provenance
from finmodel.cli import main
from finmodel.scenario.params import PARAMETERS

BASE = SCENARIOS / "base.yaml"


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def chain(tmp_path):
    """parent.yaml <- child.yaml: the child changes one rate, adds a year to a year map."""
    write(
        tmp_path,
        "parent.yaml",
        """\
        name: parent
        program:
          commitment_usd: {value: 10B, source: plan}
          start_year: 2026
          years: 2
        categories:
          servers: {share: 1, macrs_years: 5}
        policy:
          amic:
            rate:
              2023: {value: 0.25, source: chips}
              2026: {value: 0.35, source: obbba}
        sources:
          plan: "Company plan, 2025"
          chips: "CHIPS Act of 2022"
          obbba: "OBBBA of 2025"
        """,
    )
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: parent.yaml
        policy:
          amic:
            rate:
              2027: {value: 0.4, source: memo}
        tax:
          corporate_rate: {value: "25%", source: memo, note: "a higher rate"}
        sources:
          memo: "Memo of 2026-01-05"
        """,
    )
    return tmp_path, child


def test_listing_covers_every_parameter_once():
    scenario = finmodel.load_scenario(BASE)
    table = provenance.parameters(scenario)
    assert list(table.columns) == provenance.COLUMNS
    per_category = [p for p in PARAMETERS if p.path.startswith("categories.*.")]
    others = [p for p in PARAMETERS if not p.path.startswith("categories.")]
    assert len(table) == len(others) + len(per_category) * len(scenario.category_names)
    assert table["parameter"].is_unique
    assert set(table["parameter"]) == {k for k in scenario.values if k != "categories"}
    for row in table.itertuples():
        assert row.value == provenance._plain(scenario[row.parameter]) or (
            isinstance(row.value, float) and math.isnan(row.value)
        )


def test_listing_follows_extends_to_file_and_line(chain):
    folder, child = chain
    table = provenance.parameters(finmodel.load_scenario(child)).set_index("parameter")
    parent = str(folder / "parent.yaml")

    row = table.loc["program.commitment_usd"]
    assert (row.text, row.unit, row.status, row.file, row.line) == (
        "$10B",
        "USD",
        "set",
        parent,
        3,
    )
    assert (row.sources, row.citation) == ("plan", "Company plan, 2025")

    row = table.loc["tax.corporate_rate"]
    assert (row.value, row.text, row.file, row.line) == (0.25, "25%", str(child), 7)
    assert (row.sources, row.note) == ("memo", "a higher rate")

    row = table.loc["policy.amic.rate"]  # a child's year map replaces the parent's whole (MODEL.md v1.1)
    assert row.value == {2027: 0.4}
    assert row.text == "2027: 40%"
    assert (row.file, row.line) == (str(child), 4)  # the line of rate:
    assert row.sources == "memo"
    assert row.citation == "Memo of 2026-01-05"

    row = table.loc["analysis.end_year"]  # a default that depends on another key
    assert (row.value, row.status, row.file, row["where"], row.sources) == (
        2041,
        "default",
        "",
        "default",
        "",
    )
    assert pd.isna(row.line)
    assert table.loc["categories.servers.in_service_month", "text"] == "7"


def test_base_scenario_sources_resolve_to_citations():
    table = provenance.parameters(finmodel.load_scenario(BASE))
    sourced = table[table["sources"] != ""]
    assert len(sourced) > 50
    for row in sourced.itertuples():
        ids = row.sources.split("; ")
        cites = row.citation.split(" | ")
        assert len(ids) == len(cites) and all(cites), row.parameter


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_every_set_value_points_at_its_line(path):
    """The file:line of every set parameter holds that parameter's key."""
    table = provenance.parameters(finmodel.load_scenario(path))
    for row in table[table["status"] == "set"].itertuples():
        text = Path(row.file).read_text(encoding="utf-8").splitlines()[row.line - 1]
        key = row.parameter.rsplit(".", 1)[-1]
        assert f"{key}:" in text, (row.parameter, row.where, text)


@pytest.mark.parametrize(
    "value, unit, text",
    [
        (1.4e12, "USD", "$1.4T"),
        (2.5e11, "USD", "$250B"),
        (35e6, "USD", "$35M"),
        (60.0, "USD/MWh", "$60"),
        (-1e9, "USD", "-$1B"),
        (0.35, "fraction", "35%"),
        (0.015, "per year", "1.5%"),
        (0.93, "USD per USD", "93%"),
        (2026, "year", "2026"),
        (30.0, "GW", "30"),
        (True, "-", "true"),
        (("servers", "grid"), "-", "servers, grid"),
        ((), "-", "(none)"),
        ({"shares": [0.25, 0.75]}, "-", "shares 25%, 75%"),
        ({"ramp": "flat"}, "-", "flat ramp"),
    ],
)
def test_format_value(value, unit, text):
    assert provenance.format_value(value, unit) == text


def test_diff_lists_only_resolved_differences(chain):
    folder, child = chain
    parent = finmodel.load_scenario(folder / "parent.yaml")
    table = provenance.diff(parent, finmodel.load_scenario(child))
    assert list(table.columns) == provenance.DIFF_COLUMNS
    assert table["parameter"].tolist() == ["policy.amic.rate", "tax.corporate_rate"]
    row = table.set_index("parameter").loc["tax.corporate_rate"]
    assert (row.a, row.b, row.a_text, row.b_text) == (0.21, 0.25, "21%", "25%")
    assert (row.a_where, row.b_where) == ("default", f"{child}:7")
    # the same number written differently is no difference
    write(
        folder,
        "same.yaml",
        """\
        extends: parent.yaml
        program:
          commitment_usd: 10_000_000_000
        """,
    )
    assert provenance.diff(parent, finmodel.load_scenario(folder / "same.yaml")).empty


def test_diff_of_variants_against_base():
    base = finmodel.load_scenario(BASE)
    expected = {
        "transfer.yaml": ["policy.amic.monetization"],  # the 0.93 price equals the default
        "standalone_tax.yaml": ["tax.capacity"],
        "current_deadline.yaml": ["policy.amic.construction_deadline_year"],
    }
    for name, params in expected.items():
        table = provenance.diff(base, finmodel.load_scenario(SCENARIOS / name))
        assert table["parameter"].tolist() == params, name


def test_diff_with_a_category_only_on_one_side(tmp_path):
    a = finmodel.scenario_from_dict(
        {
            "program": {"commitment_usd": "1B", "start_year": 2026, "years": 2},
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
        }
    )
    b = finmodel.scenario_from_dict(
        {
            "program": {"commitment_usd": "1B", "start_year": 2026, "years": 2},
            "categories": {
                "servers": {"share": 0.5, "macrs_years": 5},
                "land": {"share": 0.5, "macrs_years": None},
            },
        }
    )
    table = provenance.diff(a, b).set_index("parameter")
    assert table.loc["categories.servers.share", "b_text"] == "50%"
    assert table.loc["categories.land.macrs_years", "a_text"] == "(absent)"
    assert table.loc["categories.land.macrs_years", "b_text"] == "null (land: never deducted)"


def test_cli_sources(chain, capsys):
    folder, child = chain
    assert main(["sources", str(child)]) == 0
    out = capsys.readouterr().out
    assert "tax.corporate_rate" in out and f"{child}:7" in out and "25%" in out
    assert "memo: Memo of 2026-01-05" in out
    assert main(["sources", str(child), "--csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table.set_index("parameter").loc["program.commitment_usd", "citation"] == "Company plan, 2025"


def test_cli_diff(capsys):
    assert main(["diff", str(BASE), str(SCENARIOS / "standalone_tax.yaml")]) == 0
    out = capsys.readouterr().out
    assert (
        "tax.capacity" in out and "unlimited" in out and "standalone" in out and "1 parameter differs" in out
    )
    assert main(["diff", str(BASE), str(BASE)]) == 0
    assert "no parameter differs" in capsys.readouterr().out


def test_cli_sources_and_diff_bad_input(capsys):
    bad = SCENARIOS.parent / "tests" / "bad_scenarios" / "rate_above_one.yaml"
    assert main(["sources", str(bad)]) == 2
    assert main(["diff", str(BASE), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "policy.amic.rate: must be >= 0 and <= 1, got 1.5" in err and "Traceback" not in err
