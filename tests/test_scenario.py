"""Scenario loading (MODEL.md sections 2 and 11): notations, extends, defaults, errors.

Every error must name the file, the line and the key path as
``file:line: key: message``; the tests assert on that text.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import SCENARIOS

import finmodel
from finmodel import ScenarioError, load_scenario, scenario_from_dict

MINIMAL = """\
program:
  commitment_usd: 1B
  start_year: 2025
  years: 2
categories:
  servers:
    share: 1
    macrs_years: 5
"""
# line numbers in MINIMAL: program 1, commitment_usd 2, start_year 3, years 4,
# categories 5, servers 6, share 7, macrs_years 8


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def assert_problem(path: Path, line: int, key: str, *words: str) -> str:
    """Exactly one problem reported as ``path:line: key: ...`` holding every word."""
    found = problems(path)
    prefix = f"{path}:{line}: {key}: "
    hits = [p for p in found if p.startswith(prefix)]
    assert hits, f"no problem starting with {prefix!r} in {found}"
    assert all(w in hits[0] for w in words), hits[0]
    return hits[0]


# ---------- notations


def test_money_suffixes_percents_and_wrappers(tmp_path):
    path = write(
        tmp_path,
        """\
        sources:
          memo: "A citation"
        program:
          commitment_usd: {value: "$1.4T", source: memo, note: "announced"}
          start_year: 2025
          years: 2
          capacity_gw: 30
        categories:
          servers: {share: "55%", macrs_years: 5}
          other: {share: 0.45, macrs_years: 0}
        operations:
          revenue_usd_per_gw_year: 10B
          power_price_usd_per_mwh: "$60"
        tax:
          corporate_rate: "21%"
        """,
    )
    s = load_scenario(path)
    assert s["program.commitment_usd"] == 1.4e12
    assert s["operations.revenue_usd_per_gw_year"] == 1e10
    assert s["operations.power_price_usd_per_mwh"] == 60.0
    assert s["categories.servers.share"] == pytest.approx(0.55, rel=1e-15)
    assert s["tax.corporate_rate"] == pytest.approx(0.21, rel=1e-15)
    prov = s.provenance["program.commitment_usd"]
    assert (prov.is_default, prov.file, prov.line, prov.source, prov.note) == (
        False,
        str(path),
        4,
        "memo",
        "announced",
    )
    assert s.provenance["tax.nol_limit"].is_default
    assert dict(s.sources) == {"memo": "A citation"}


def test_year_maps_and_scalar_rate(tmp_path):
    path = write(
        tmp_path,
        MINIMAL
        + """\
        policy:
          amic:
            rate: {2023: "25%", 2026: {value: 0.35}}
        tax:
          bonus_depreciation: 0.4
        """.replace("        ", ""),
    )
    s = load_scenario(path)
    assert s["policy.amic.rate"] == {2023: 0.25, 2026: 0.35}
    assert s["tax.bonus_depreciation"] == {0: 0.4}  # a scalar: the value in every year


def test_unknown_source_id(tmp_path):
    path = write(
        tmp_path,
        """\
        sources: {memo: "A citation"}
        program:
          commitment_usd: {value: 1B, source: memoo}
          start_year: 2025
          years: 2
        categories:
          servers: {share: 1, macrs_years: 5}
        """,
    )
    assert_problem(path, 3, "program.commitment_usd.source", "unknown source", "memoo")


def test_wrapper_with_an_unknown_field(tmp_path):
    path = write(tmp_path, MINIMAL.replace("years: 2", "years: {value: 2, sorce: x}"))
    assert_problem(path, 4, "program.years.sorce", "unknown key", "did you mean 'source'")


def test_scenario_from_dict_matches_file(tmp_path):
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "1B", "start_year": 2025, "years": 2},
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
        }
    )
    f = load_scenario(write(tmp_path, MINIMAL))
    assert {k: v for k, v in s.values.items()} == {k: v for k, v in f.values.items()}
    with pytest.raises(ScenarioError, match="extends"):
        scenario_from_dict({"extends": "base.yaml"})


# ---------- defaults


def test_defaults_of_model_section_11(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL, "my_case.yaml"))
    assert s.name == "my_case"  # defaults to the file's stem
    assert s.title == "my_case"
    expected = {
        "program.schedule": {"ramp": "flat"},
        "program.capacity_gw": 0.0,
        "program.capacity_category": "servers",
        "categories.servers.group": "servers",
        "categories.servers.bonus_eligible": True,  # macrs_years 5 is in 1..20
        "categories.servers.in_service_lag_years": 0,
        "categories.servers.construction_years": 0,
        "categories.servers.in_service_month": 7,
        "categories.servers.life_years": 5,  # = macrs_years
        "categories.servers.qualified_fraction": 1.0,
        "policy.amic.rate": {2023: 0.25, 2026: 0.35},
        "policy.amic.eligible": (),
        "policy.amic.construction_deadline_year": 2027,
        "policy.amic.basis_reduction": 1.0,
        "policy.amic.monetization": "direct_pay",
        "policy.amic.payment_lag_years": 1,
        "policy.amic.payment_haircut": 0.0,
        "policy.amic.transfer_price": 0.93,
        "policy.amic.recapture": True,
        "tax.corporate_rate": 0.21,
        "tax.bonus_depreciation": {2022: 1.0, 2023: 0.8, 2024: 0.6, 2025: 1.0},
        "tax.capacity": "unlimited",
        "tax.nol_limit": 0.8,
        "operations.revenue_usd_per_gw_year": 0.0,
        "operations.revenue_growth": 0.0,
        "operations.utilization": 1.0,
        "operations.pue": 1.0,
        "operations.power_price_usd_per_mwh": 0.0,
        "operations.power_price_growth": 0.0,
        "operations.om_rate": 0.0,
        "finance.discount_rate": 0.10,
        "finance.valuation_year": 2025,  # = start_year
        "analysis.end_year": 2040,  # = start_year + 15
        "analysis.terminal_value": "book",
        "fiscal.window_start": 2026,  # = start_year + 1
        "fiscal.window_years": 10,
        "fiscal.discount_rate": 0.04,
    }
    for path, value in expected.items():
        assert s[path] == value, path
        assert s.provenance[path].is_default, path


@pytest.mark.parametrize(
    ("macrs", "bonus", "life"),
    [(0, False, 0), (3, True, 3), (20, True, 20), (39, False, 39), (None, False, None)],
)
def test_category_defaults_depend_on_macrs_years(macrs, bonus, life):
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "1B", "start_year": 2025, "years": 2},
            "categories": {"a": {"share": 1, "macrs_years": macrs}},
        }
    )
    assert s["categories.a.bonus_eligible"] is bonus
    assert s["categories.a.life_years"] == life


def test_explicit_nulls_that_have_a_meaning(tmp_path):
    path = write(
        tmp_path,
        MINIMAL + "    life_years: null\n" + "policy:\n  amic:\n    construction_deadline_year: null\n",
    )
    s = load_scenario(path)
    assert s["categories.servers.life_years"] == 5  # falls back to macrs_years
    assert s["policy.amic.construction_deadline_year"] is None  # no deadline


# ---------- extends


PARENT = """\
name: parent
sources: {p1: "parent citation"}
program:
  commitment_usd: 1B
  start_year: 2025
  years: 2
categories:
  servers: {share: 0.5, macrs_years: 5}
  grid: {share: 0.5, macrs_years: 20, life_years: 30}
policy:
  amic:
    eligible: [servers, grid]
    rate: {2023: 0.25, 2026: 0.35}
tax:
  corporate_rate: {value: 0.21, source: p1}
"""


def test_extends_deep_merge(tmp_path):
    write(tmp_path, PARENT, "parent.yaml")
    child = write(
        tmp_path,
        """\
        extends: parent.yaml
        sources: {c1: "child citation"}
        categories:
          grid: {life_years: 40}
        policy:
          amic:
            eligible: [grid]
            rate: {value: 0.3, source: c1}
        """,
        "child.yaml",
    )
    s = load_scenario(child)
    assert s.name == "child"  # the parent's name is not inherited
    # a list replaces
    assert s["policy.amic.eligible"] == ("grid",)
    # a mapping merges: grid keeps share and macrs_years from the parent
    assert s["categories.grid.share"] == 0.5
    assert s["categories.grid.macrs_years"] == 20
    assert s["categories.grid.life_years"] == 40
    assert s.category_names == ("servers", "grid")
    # a {value, source} wrapper is a value: it replaces the parent's year map, not merges into it
    assert s["policy.amic.rate"] == {0: 0.3}
    # sources merge; provenance names the file that wrote each value
    assert dict(s.sources) == {"p1": "parent citation", "c1": "child citation"}
    assert s.provenance["categories.grid.life_years"].file == str(child)
    assert s.provenance["categories.grid.share"].file == str(tmp_path / "parent.yaml")
    assert s.provenance["tax.corporate_rate"].source == "p1"
    assert len(s.files) == 2


def test_extends_error_points_at_the_file_that_wrote_the_key(tmp_path):
    write(
        tmp_path,
        PARENT.replace("corporate_rate: {value: 0.21, source: p1}", "corporate_rate: 1.5"),
        "parent.yaml",
    )
    child = write(tmp_path, "extends: parent.yaml\nprogram:\n  years: -1\n", "child.yaml")
    found = problems(child)
    assert any(p.startswith(f"{child}:3: program.years: ") for p in found), found
    assert any(p.startswith(f"{tmp_path / 'parent.yaml'}:15: tax.corporate_rate: ") for p in found), found


def test_extends_cycle_is_an_error(tmp_path):
    write(tmp_path, "extends: b.yaml\n" + MINIMAL, "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    found = problems(tmp_path / "a.yaml")
    assert any("circular extends" in p and "a.yaml" in p and "b.yaml" in p for p in found), found
    selfref = write(tmp_path, "extends: self.yaml\n" + MINIMAL, "self.yaml")
    assert any("circular extends" in p for p in problems(selfref))


def test_extends_missing_parent(tmp_path):
    child = write(tmp_path, "extends: nowhere.yaml\n" + MINIMAL)
    assert_problem(child, 1, "extends", "not found")


# ---------- bad inputs, one per rule


def test_wrong_type_year(tmp_path):
    path = write(tmp_path, MINIMAL.replace("start_year: 2025", 'start_year: "2025"'))
    assert_problem(path, 3, "program.start_year", "calendar year", "'2025'")


def test_wrong_type_money(tmp_path):
    path = write(tmp_path, MINIMAL.replace("commitment_usd: 1B", "commitment_usd: [1, 2]"))
    assert_problem(path, 2, "program.commitment_usd", "must be money")


def test_wrong_type_bool(tmp_path):
    path = write(tmp_path, MINIMAL + "policy:\n  amic:\n    recapture: 'yes'\n")
    assert_problem(path, 11, "policy.amic.recapture", "true or false")


def test_wrong_type_macrs_class(tmp_path):
    path = write(tmp_path, MINIMAL.replace("macrs_years: 5", "macrs_years: 6"))
    assert_problem(path, 8, "categories.servers.macrs_years", "MACRS class", "got 6")


def test_wrong_type_section(tmp_path):
    path = write(tmp_path, MINIMAL + "tax: 0.21\n")
    assert_problem(path, 9, "tax", "mapping")


def test_range_rate(tmp_path):
    path = write(tmp_path, MINIMAL + "policy:\n  amic:\n    rate: 3.5\n")
    assert_problem(path, 11, "policy.amic.rate", "<= 1", "3.5")


def test_range_rate_in_year_map(tmp_path):
    path = write(tmp_path, MINIMAL + "policy:\n  amic:\n    rate:\n      2023: 0.25\n      2026: 135%\n")
    assert_problem(path, 13, "policy.amic.rate[2026]", "<= 1", "1.35")


def test_range_corporate_rate_open_bound(tmp_path):
    path = write(tmp_path, MINIMAL + "tax:\n  corporate_rate: 1\n")
    assert_problem(path, 10, "tax.corporate_rate", "< 1")


def test_range_negative_count(tmp_path):
    path = write(tmp_path, MINIMAL.replace("years: 2", "years: 0"))
    assert_problem(path, 4, "program.years", ">= 1", "got 0")


def test_category_shares_must_sum_to_one_never_rescaled(tmp_path):
    path = write(
        tmp_path,
        MINIMAL.replace("share: 1", "share: 0.6") + "  grid: {share: 0.3, macrs_years: 20}\n",
    )
    assert_problem(path, 5, "categories", "sum to 1", "0.9", "never rescaled")
    # off by 1e-6 is still refused (tolerance 1e-9), not rescaled
    path = write(
        tmp_path,
        MINIMAL.replace("share: 1", "share: 0.7") + "  grid: {share: 0.299999, macrs_years: 20}\n",
    )
    assert_problem(path, 5, "categories", "sum to 1")


def test_schedule_shares_must_sum_to_one(tmp_path):
    path = write(tmp_path, MINIMAL.replace("years: 2", "years: 2\n  schedule:\n    shares: [0.5, 0.4]"))
    assert_problem(path, 6, "program.schedule.shares", "sum to 1", "never rescaled")


def test_schedule_length(tmp_path):
    path = write(
        tmp_path,
        MINIMAL.replace("years: 2", "years: 2\n  schedule:\n    shares: [0.5, 0.25, 0.25]"),
    )
    assert_problem(path, 6, "program.schedule.shares", "exactly program.years = 2", "got 3")


def test_schedule_unknown_ramp(tmp_path):
    path = write(tmp_path, MINIMAL.replace("years: 2", "years: 2\n  schedule: {ramp: liner}"))
    assert_problem(path, 5, "program.schedule.ramp", "did you mean 'linear'")


def test_unknown_key_with_did_you_mean(tmp_path):
    path = write(tmp_path, MINIMAL.replace("commitment_usd", "comitment_usd"))
    assert_problem(path, 2, "program.comitment_usd", "unknown key", "did you mean 'commitment_usd'")
    # and the required key it was meant to be is reported missing
    assert_problem(path, 1, "program.commitment_usd", "required")


def test_unknown_top_level_and_category_keys(tmp_path):
    path = write(tmp_path, MINIMAL + "    life_year: 3\npolcy: {}\n")
    assert_problem(path, 9, "categories.servers.life_year", "did you mean 'life_years'")
    assert_problem(path, 10, "polcy", "did you mean 'policy'")


def test_unknown_eligible_name(tmp_path):
    path = write(tmp_path, MINIMAL + "policy:\n  amic:\n    eligible: [servers, server]\n")
    assert_problem(path, 11, "policy.amic.eligible[1]", "'server'", "did you mean 'servers'")


def test_eligible_group_name_is_accepted(tmp_path):
    path = write(
        tmp_path,
        MINIMAL.replace("macrs_years: 5", "macrs_years: 5\n    group: compute")
        + "policy:\n  amic:\n    eligible: [compute]\n",
    )
    assert load_scenario(path)["policy.amic.eligible"] == ("compute",)


@pytest.mark.parametrize(
    ("extra", "line", "key"),
    [
        ("tax:\n  corporate_rate: null\n", 10, "tax.corporate_rate"),
        ("policy:\n  amic:\n    eligible: null\n", 11, "policy.amic.eligible"),
        ("policy:\n  amic:\n    rate: null\n", 11, "policy.amic.rate"),
        ("analysis:\n  end_year: null\n", 10, "analysis.end_year"),
    ],
)
def test_null_where_not_allowed(tmp_path, extra, line, key):
    path = write(tmp_path, MINIMAL + extra)
    assert_problem(path, line, key, "null is not allowed")


def test_null_required_key(tmp_path):
    path = write(tmp_path, MINIMAL.replace("share: 1", "share: null"))
    assert_problem(path, 7, "categories.servers.share", "null is not allowed")


def test_spend_not_in_service_by_end_year(tmp_path):
    path = write(
        tmp_path,
        MINIMAL + "    in_service_lag_years: 2\nanalysis:\n  end_year: 2027\nfiscal:\n  window_years: 2\n",
    )
    # last spend 2026 + lag 2 = 2028 > 2027
    assert_problem(path, 9, "categories.servers.in_service_lag_years", "2028", "2027")


def test_spend_beyond_end_year(tmp_path):
    path = write(
        tmp_path,
        MINIMAL + "analysis:\n  end_year: 2025\nfiscal:\n  window_start: 2025\n  window_years: 1\n",
    )
    assert_problem(path, 10, "analysis.end_year", "2026")


def test_fiscal_window_outside_horizon(tmp_path):
    # MODEL.md v1.1 section 10: a window that shares no year with the horizon 2025-2040 is an error
    path = write(tmp_path, MINIMAL + "fiscal:\n  window_start: 2041\n")
    assert_problem(path, 10, "fiscal.window_start", "2041-2050", "does not overlap", "2025-2040")
    path = write(tmp_path, MINIMAL + "fiscal:\n  window_start: 2010\n  window_years: 5\n")
    assert_problem(path, 10, "fiscal.window_start", "2010-2014", "does not overlap")


def test_fiscal_window_partly_outside_is_clipped(tmp_path):
    # 2035 + 10 - 1 = 2044 > 2040 (default end_year): summed over 2035-2040, with a note
    path = write(tmp_path, MINIMAL + "fiscal:\n  window_start: 2035\n")
    r = finmodel.run(load_scenario(path))
    assert r.fiscal()["window"] == [2035, 2040]
    cost = r.lines["fiscal_cost"][1]
    assert r.fiscal()["fiscal_cost_window_usd"] == pytest.approx(cost[r.years >= 2035].sum(), rel=1e-12)
    assert any("clipped" in n and "2035-2044" in n and "2035-2040" in n for n in r.notes)
    path = write(tmp_path, MINIMAL + "fiscal:\n  window_start: 2020\n")
    r = finmodel.run(load_scenario(path))
    assert r.fiscal()["window"] == [2025, 2029]
    assert r.fiscal()["fiscal_cost_window_usd"] == pytest.approx(
        r.lines["fiscal_cost"][1][r.years <= 2029].sum(), rel=1e-12
    )


def test_end_year_before_start(tmp_path):
    path = write(tmp_path, MINIMAL + "analysis:\n  end_year: 2020\n")
    assert_problem(path, 10, "analysis.end_year", ">= program.start_year")


def test_missing_required_keys(tmp_path):
    path = write(tmp_path, MINIMAL.replace("  years: 2\n", "").replace("    macrs_years: 5\n", ""))
    assert_problem(path, 1, "program.years", "required")
    assert_problem(path, 5, "categories.servers.macrs_years", "required")  # servers: is line 5
    path = write(tmp_path, "program:\n  commitment_usd: 1B\n  start_year: 2025\n  years: 2\n")
    assert_problem(path, 1, "categories", "required")  # no categories: at all -> the top of the file


def test_every_problem_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        MINIMAL.replace("start_year: 2025", "start_year: x").replace("macrs_years: 5", "macrs_years: 4")
        + "tax:\n  nol_limit: 2\n",
    )
    found = problems(path)
    keys = {p.split(": ")[1] for p in found}
    assert {"program.start_year", "categories.servers.macrs_years", "tax.nol_limit"} <= keys


# ---------- frozen scenario


def test_override_revalidates_and_leaves_the_original(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL))
    t = s.override({"program.commitment_usd": "2B", "policy": {"amic": {"eligible": ["servers"]}}})
    assert (s["program.commitment_usd"], t["program.commitment_usd"]) == (1e9, 2e9)
    assert t["policy.amic.eligible"] == ("servers",) and s["policy.amic.eligible"] == ()
    with pytest.raises(ScenarioError):
        s.override({"tax.corporate_rate": 5})
    with pytest.raises(TypeError):
        s.values["program.years"] = 3  # read-only mapping


def test_sha256_depends_on_values_only(tmp_path):
    a = load_scenario(write(tmp_path, MINIMAL, "a.yaml")).override({}, name="x")
    b = load_scenario(write(tmp_path, "# a comment\n" + MINIMAL.replace("1B", "1_000M"), "b.yaml")).override(
        {}, name="x"
    )
    assert a.sha256() == b.sha256()
    assert a.override({"program.years": 3}, name="x").sha256() != a.sha256()


def test_label_defaults_to_the_title_and_is_not_inherited(tmp_path):
    """``label:`` is the short name on charts and tables: the title unless set; a child of a
    labelled parent gets its own title, not the parent's label."""
    base = load_scenario(write(tmp_path, "title: Long title\nlabel: Short\n" + MINIMAL, "base.yaml"))
    assert (base.title, base.label) == ("Long title", "Short")
    assert base.resolved()["label"] == "Short"
    child = load_scenario(write(tmp_path, "extends: base.yaml\ntitle: Child title\n", "child.yaml"))
    assert child.label == "Child title"
    assert load_scenario(write(tmp_path, MINIMAL, "plain.yaml")).label == "plain"
    assert_problem(write(tmp_path, "label: 3\n" + MINIMAL, "bad.yaml"), 1, "label", "must be non-empty text")


def test_every_scenario_file_has_a_short_label():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        s = load_scenario(path)
        assert s.label != s.title and len(s.label) <= 32, (path.name, s.label)


def test_override_keeps_the_origin_of_untouched_keys_and_names_its_own():
    """Provenance after override: base keys keep file and line; changed keys say <override>."""
    base = load_scenario(SCENARIOS / "base.yaml")
    rate = {"value": 0.3, "source": "amic-obbba-35"}
    changed = base.override({"operations.pue": 1.3, "policy.amic.rate": rate})
    for path in ("program.commitment_usd", "categories.servers.share"):
        assert changed.provenance[path] == base.provenance[path]
    assert (changed.provenance["operations.pue"].file, changed.provenance["operations.pue"].line) == (
        "<override>",
        None,
    )
    assert changed.provenance["policy.amic.rate"].source == "amic-obbba-35"
    assert changed["operations.pue"] == 1.3
    with pytest.raises(ScenarioError) as err:
        base.override({"tax.corporate_rate": 5})
    assert str(err.value).startswith("<override>: tax.corporate_rate: must be >= 0 and < 1, got 5")
