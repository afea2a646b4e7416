"""What every chart shares: the memo frame (title, subtitle, footnote), label sizes and label texts.

Used by the chart modules of this package; see :mod:`finmodel.outputs.charts`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes

from finmodel._version import __version__
from finmodel.analysis import provenance
from finmodel.core import format as fmt
from finmodel.outputs import memo, style
from finmodel.outputs.style import MINUS
from finmodel.scenario import Scenario

__all__ = [
    "CASE_LABELS",
    "FIXED_CASES",
    "LABEL_PT",
    "EMPTY_SPAN_USD",
    "chart_frame",
    "percent_text",
    "param_text",
    "year_span",
    "no_data",
    "cumulative_axes",
    "case_label",
    "case_list",
    "grow_for_legend",
    "same_as",
]

CASE_LABELS = memo.CASE_LABELS
FIXED_CASES = ("without", "with")  #: the two cases every scenario has
case_label = memo.case_label
LABEL_PT = 8.0  #: value labels on bars and cells [pt]
EMPTY_SPAN_USD = 1e9  #: axis span when every value is zero, so ticks read $0B, $0.2B, ...


@contextlib.contextmanager
def chart_frame(
    ax: Axes | None,
    title: str,
    subtitle: str,
    scenarios: Scenario | Sequence[Scenario],
    height: float = style.FIG_HEIGHT_IN,
) -> Iterator[Axes]:
    """Draw in ``ax``, or in a new memo figure that gets title, subtitle and footnote when done.

    The footnote is :func:`finmodel.outputs.memo.footnote` of ``scenarios``
    (how many sources and assumptions they cite, and the finmodel version).
    """
    with style.memo_style():
        own = ax is None
        if own:
            fig, ax = style.new_figure(height)
        yield ax
        if own:
            style.add_title(fig, title, subtitle)
            style.add_footnote(fig, memo.footnote(scenarios, __version__))


def percent_text(x: float) -> str:
    """A rate parameter (a discount rate) as written: ``0.1 -> '10%'``."""
    return fmt.parameter_value(float(x), "per year", minus=MINUS)


def param_text(path: str, value) -> str:
    """A parameter value on a tick or row label (:func:`finmodel.analysis.provenance.value_text`)."""
    return provenance.value_text(path, value, label=True, minus=MINUS)


def year_span(mask: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The years from the first to the last where ``mask`` holds (all years if none)."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return years
    return years[idx[0] : idx[-1] + 1]


def no_data(ax: Axes, text: str) -> None:
    """A grey note in the middle of an empty plot."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=9,
        color=style.MUTED_TEXT,
    )


def cumulative_axes(ax: Axes, years: np.ndarray, margin: float) -> None:
    """Axes of cumulative cash flow by year: money on y (with ``margin`` above and below), years on x."""
    ax.margins(y=margin)
    style.money_axis(ax)
    style.year_axis(ax, years)
    ax.set_ylabel("Cumulative cash flow, nominal")


def case_list(cases: Sequence[str]) -> str:
    """Case labels for a sentence: ``With AMIC and Both``."""
    labels = [case_label(c) for c in cases]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def same_as(values: Mapping[str, np.ndarray]) -> dict[str, str | None]:
    """For each case, an earlier case whose values are the same, else None (``without`` and
    ``with`` are never matched, so a scenario without ``cases:`` draws as it always did).

    Values count as the same when no element differs by more than 1e-9 of
    the largest magnitude among them: the same figures on any chart.
    """
    names = list(values)
    arrays = {c: np.asarray(values[c], dtype=float) for c in names}
    scale = max((float(np.nanmax(np.abs(a))) for a in arrays.values() if a.size), default=0.0)
    tol = 1e-9 * scale
    out: dict[str, str | None] = {}
    for i, case in enumerate(names):
        out[case] = None
        if case in FIXED_CASES:
            continue
        for earlier in names[:i]:
            if out[earlier] is None and np.allclose(arrays[case], arrays[earlier], rtol=0.0, atol=tol):
                out[case] = earlier
                break
    return out


LEGEND_ROW_IN = 0.25  #: height of one legend row at the memo's 9 pt [inch]


def grow_for_legend(fig, legend, entries: int, rows: int = 2) -> None:
    """Make a memo figure taller by the legend rows beyond ``rows``, so the plot keeps its height.

    Call on a figure the chart made itself, before :func:`chart_frame` adds its frame.
    """
    ncols = max(1, int(getattr(legend, "_ncols", 1)))
    extra = -(-entries // ncols) - rows
    if extra > 0:
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + LEGEND_ROW_IN * extra)
