"""Charts of capacity in service and of who gets the credit's value: the drawn data are the results'."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import SCENARIOS  # noqa: E402

import finmodel  # noqa: E402
from finmodel.analysis.realism import value_split  # noqa: E402
from finmodel.outputs import charts  # noqa: E402
from finmodel.scenario import load_scenario  # noqa: E402


@pytest.fixture(scope="module")
def runs():
    names = ("base", "refresh", "ownership", "transfer", "credit_vs_guarantee")
    return {n: finmodel.run(load_scenario(SCENARIOS / f"{n}.yaml")) for n in names}


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_capacity_line_is_the_operating_gw_line(runs):
    for name in ("base", "refresh"):
        r = runs[name]
        ax = charts.capacity_in_service(r)
        (line,) = _by_gid(ax, "capacity-line")
        assert np.array_equal(line.get_ydata(), np.asarray(r.lines["operating_gw"])[0])
        (target,) = _by_gid(ax, "capacity-target")
        assert target.get_ydata()[0] == 30
    assert "not replaced" in charts.capacity_in_service(runs["base"]).figure.texts[0].get_text()
    assert "replaced through 2040" in charts.capacity_in_service(runs["refresh"]).figure.texts[0].get_text()


def test_capacity_comparison_draws_one_line_per_scenario(runs):
    ax = charts.capacity_comparison([runs["base"], runs["refresh"]])
    for name in ("base", "refresh"):
        (line,) = _by_gid(ax, f"capacity-{name}")
        assert np.array_equal(line.get_ydata(), np.asarray(runs[name].lines["operating_gw"])[0])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [  # the scenarios' label: keys, not their file names
        "Base: 35% on servers, DCs, grid (not replaced)",
        "Refresh to 30 GW (servers replaced)",
    ]


def test_capacity_comparison_shares_a_line_between_equal_scenarios(runs):
    ax = charts.capacity_comparison([runs["base"], runs["ownership"], runs["transfer"], runs["refresh"]])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "Base: 35% on servers, DCs, grid; Most assets owned by others and 1 more (not replaced)",
        "Refresh to 30 GW (servers replaced)",
    ]


@pytest.mark.parametrize("name", ["ownership", "transfer"])
def test_value_split_bars_are_the_split(runs, name):
    r = runs[name]
    split = value_split(r)
    ax = charts.credit_value_split(r)

    def width(gid):
        (bar,) = [p for p in ax.patches if p.get_gid() == gid]
        return bar.get_width()

    assert width("split-program") == pytest.approx(split.program_usd, rel=1e-12)
    assert width("split-owners") == pytest.approx(split.third_party_usd, rel=1e-12)
    assert width("split-buyers") == pytest.approx(split.buyers_usd, rel=1e-12)
    assert width("split-cost") == pytest.approx(r.fiscal("with")["fiscal_cost_pv_usd"], rel=1e-12)


def test_value_split_chart_only_where_the_credit_is_shared(runs):
    assert charts.has_value_split(runs["ownership"]) and charts.has_value_split(runs["transfer"])
    assert not charts.has_value_split(runs["base"]) and not charts.has_value_split(
        runs["credit_vs_guarantee"]
    )
