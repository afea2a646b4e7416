"""The explorer's figure (finmodel.outputs.explorer): moved in place, it shows what a fresh drawing shows.

The oracle is a fresh :class:`ExplorerFigure` drawn for the same results and
saved whole by matplotlib (``savefig``): the PNG of a figure moved from other
settings, rendered as a background plus the artists that change, must equal
it pixel for pixel. The artists' data equal the results' arrays.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import RTOL_MODEL, SCENARIOS
from PIL import Image

import finmodel
from finmodel.outputs.explorer import ExplorerFigure

DPI = 72


@pytest.fixture(scope="module")
def base():
    return finmodel.load_scenario(SCENARIOS / "base.yaml")


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def fresh_png(results) -> bytes:
    """The oracle: a new explorer figure for ``results``, rendered whole by savefig."""
    desk = ExplorerFigure(dpi=DPI)
    fig = desk.draw(results)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def check_data(fig, results) -> None:
    """The lines and bars drawn are the results' cumulative cash flow and Treasury cost."""
    left, right = fig.axes
    lines = {line.get_gid(): line for line in left.lines}
    for k, case in enumerate(results.cases):
        expected = np.cumsum(np.asarray(results.lines["cash_flow"])[k])
        np.testing.assert_allclose(lines[f"cumulative-{case}"].get_ydata(), expected, rtol=RTOL_MODEL)
    bars = [p.get_height() for p in right.patches if p.get_gid() == "fiscal-cost"]
    np.testing.assert_allclose(bars, np.asarray(results.lines["fiscal_cost"])[1], rtol=RTOL_MODEL, atol=1.0)


def test_moved_figure_equals_a_fresh_drawing(base):
    rate = {2023: 0.25, 2026: 0.30}
    steps = [
        {},
        {"policy.amic.rate": rate},
        {"policy.amic.rate": rate, "policy.amic.eligible": ["servers", "data_centers"]},
        {"policy.amic.rate": rate, "operations.revenue_usd_per_gw_year": 12e9},
        {"policy.amic.rate": {2023: 0.25, 2026: 0.45}, "policy.amic.construction_deadline_year": 2031},
    ]
    desk = ExplorerFigure(dpi=DPI)
    for overrides in steps:
        results = finmodel.run(base, overrides)
        fig = desk.draw(results)
        check_data(fig, results)
        got, expected = pixels(desk.png()), pixels(fresh_png(results))
        assert got.shape == expected.shape
        differ = int(np.any(got != expected, axis=-1).sum())
        assert differ == 0, f"{overrides}: {differ} pixels differ from a fresh drawing"
    assert desk.redraws == 1, "every step moves the first drawing's artists (none needed new ones)"


def test_charts_that_need_other_artists_are_drawn_anew(base):
    desk = ExplorerFigure(dpi=DPI)
    desk.draw(finmodel.run(base))
    # revenue so low that no case pays back: the payback rings go, the legend says so
    results = finmodel.run(base, {"operations.revenue_usd_per_gw_year": 2e9})
    assert results.metric("payback_year", "with") is None
    fig = desk.draw(results)
    assert desk.redraws == 2
    assert not [line for line in fig.axes[0].lines if (line.get_gid() or "").startswith("payback-")]
    check_data(fig, results)
    assert np.array_equal(pixels(desk.png()), pixels(fresh_png(results)))


def test_unchanged_charts_keep_their_png(base):
    desk = ExplorerFigure(dpi=DPI)
    desk.draw(finmodel.run(base))
    first = desk.png()
    # the owner's discount rate moves the NPV, not the nominal cash flow or the Treasury's cost
    desk.draw(finmodel.run(base, {"finance.discount_rate": 0.08}))
    assert desk.png() is first


@pytest.mark.parametrize("changes", [{}, {"refresh.categories": ["servers"]}], ids=["base", "refresh"])
def test_titles_clear_of_the_legends_and_every_text_inside_the_figure(base, changes):
    desk = ExplorerFigure(dpi=DPI)  # refresh: a third legend row and money ticks up to $1,500B
    fig = desk.draw(finmodel.run(base.override(changes) if changes else base))
    desk.png()  # drawn: the axes' labels placed beside their tick labels
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    for ax in fig.axes:
        legend = ax.get_legend()
        assert ax.title.get_window_extent(renderer).y0 >= legend.get_window_extent(renderer).y1, (
            f"{ax.get_title()!r} overlaps its legend"
        )
        texts = [ax.title, ax.yaxis.label, *legend.get_texts(), *ax.texts]
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):  # the ticks drawn
            texts += [
                t.label1 for t in axis.get_major_ticks() if lo <= t.get_loc() <= hi and t.label1.get_text()
            ]
        for text in texts:
            e = text.get_window_extent(renderer)
            inside = box.x0 <= e.x0 and e.x1 <= box.x1 and box.y0 <= e.y0 and e.y1 <= box.y1
            assert inside, f"{text.get_text()!r} is clipped by the figure's edge: {e} in {box}"
