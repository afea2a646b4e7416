"""The explorer's charts (``notebooks/06_explorer.ipynb``): drawn once, then moved at every change.

:class:`ExplorerFigure` holds one figure: the cumulative cash flow
(:func:`~finmodel.outputs.charts.cumulative_cash_flow`) and the Treasury's
cost (:func:`~finmodel.outputs.charts.treasury_cost`) side by side, with fixed
margins (no layout engine). :meth:`ExplorerFigure.draw` draws them with the
chart functions the first time, and again whenever the new results need
other artists (a trough, a payback year or a terminal value appearing or
going, another budget window, a legend in other columns); otherwise it moves
the artists already drawn to the new figures of
:func:`~finmodel.outputs.charts.cumulative_cash_flow_parts` and
:func:`~finmodel.outputs.charts.treasury_cost_parts`, the figures the chart
functions draw, so the figure holds what a fresh drawing would.

:meth:`ExplorerFigure.png` renders it for the screen. Matplotlib 3.11 takes
milliseconds to lay out and rasterize each text, and the figure has about
forty: the parts that do not change (titles, the year axis, the budget
window's band, a legend whose entries stay the same) are rendered once into
a background, and each PNG draws only the rest over it, in the order a full
drawing would. The PNG of unchanged charts (a change of the owner's discount
rate moves neither) is not rendered again. Nothing here writes a file.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from finmodel.engine.model import Results
from finmodel.outputs import charts, style
from finmodel.outputs.charts.scenario import (
    CUMULATIVE_LEGEND_COLUMNS,
    CumulativeParts,
    TreasuryCostParts,
    cumulative_cash_flow_parts,
    treasury_cost_parts,
)

__all__ = ["ExplorerFigure", "TITLES"]

#: The two charts' titles, above their legends.
TITLES = ("Cumulative after-tax cash flow", "Cost to the Treasury by year")
WIDTH_IN = 14.5  #: the figure's width [inch]; its height is the memo charts' (style.FIG_HEIGHT_IN)
#: Fixed margins (no layout engine): room above each plot for its title and legend.
MARGINS = {"left": 0.055, "right": 0.99, "bottom": 0.08, "top": 0.76, "wspace": 0.15}
TITLE_PT = 11  #: the charts' titles' size [pt]
TITLE_PAD_PT = 36  #: the least room between a plot and its title, for two rows of legend [pt]
TITLE_GAP_PT = 6  #: between the top of a legend and the title's baseline [pt]


class ExplorerFigure:
    """The explorer's two charts on one figure, kept between changes (see the module's docstring).

    Parameters
    ----------
    dpi : float
        Resolution of the figure and of its PNG [dots per inch].
    """

    def __init__(self, dpi: float = 72) -> None:
        self.dpi = dpi
        self.figure: Figure | None = None  #: the figure drawn last (a new one at every drawing anew)
        self._axes: tuple[Axes, Axes] = ()
        self._canvas: FigureCanvasAgg | None = None
        self._parts: tuple[CumulativeParts, TreasuryCostParts] | None = None
        self._dynamic: set = set()  # artists drawn over the background at every PNG
        self._background = None
        self._png: bytes | None = None
        self.redraws = 0  #: how many times the charts were drawn anew (the first time included)

    # ------------------------------------------------------------------ drawing

    def draw(self, results: Results) -> Figure:
        """The figure showing ``results`` (a scenario without ``cases:``): moved, or drawn anew."""
        parts = (cumulative_cash_flow_parts(results), treasury_cost_parts(results, "with"))
        if self._parts is not None and _same_charts(self._parts, parts):
            return self.figure  # the same figures: nothing to move, the PNG stays valid
        if self._parts is None or not self._move(parts):
            self._draw_anew(results)
        self._parts = parts
        self._png = None
        return self.figure

    def _draw_anew(self, results: Results) -> None:
        # a new figure (clearing the axes would not give them back as made: Axes.clear moves the
        # money axis's label)
        with style.memo_style():
            self.figure = Figure(figsize=(WIDTH_IN, style.FIG_HEIGHT_IN), dpi=self.dpi)
            left, right = self._axes = tuple(self.figure.subplots(1, 2))
        self.figure.subplots_adjust(**MARGINS)
        self._canvas = FigureCanvasAgg(self.figure)
        charts.cumulative_cash_flow(results, ax=left)
        charts.treasury_cost(results, ax=right, case="with")
        self._set_titles()
        # redrawn at every PNG: what lies in the plots, the money axes (their limits follow the
        # data) and the spines over them; the legends join once their entries change (_move)
        self._dynamic = {
            a
            for ax in self._axes
            for a in (*ax.lines, *ax.patches, *ax.texts, *ax.collections, ax.yaxis, *ax.spines.values())
            if a.get_gid() != "fiscal-window"
        }
        self._background = None
        self.redraws += 1

    def _set_titles(self) -> None:
        """Each chart's title above the taller of the two legends (a third row of entries, the
        terminal value's, needs more than the fixed pad), the plots moved down if it would not fit."""
        renderer = self._canvas.get_renderer()
        legends = [(ax, ax.get_legend()) for ax in self._axes if ax.get_legend()]
        tops = [legend.get_window_extent(renderer).y1 - ax.bbox.y1 for ax, legend in legends]
        above_px = max(tops, default=0.0)
        pad_pt = max(TITLE_PAD_PT, above_px * 72 / self.dpi + TITLE_GAP_PT)
        height_pt = style.FIG_HEIGHT_IN * 72
        top = min(MARGINS["top"], 1 - (pad_pt + TITLE_PT * 1.5) / height_pt)
        if top < MARGINS["top"]:
            self.figure.subplots_adjust(top=top)
        for ax, title in zip(self._axes, TITLES, strict=True):
            ax.set_title(title, loc="left", fontsize=TITLE_PT, fontweight="bold", pad=pad_pt)

    def _move(self, parts: tuple[CumulativeParts, TreasuryCostParts]) -> bool:
        """Move the drawn artists to ``parts``; False (nothing moved) where they do not fit."""
        old_cum, old_cost = self._parts
        cum, cost = parts
        left, right = self._axes
        if not (_cumulative_fits(old_cum, cum, left) and _cost_fits(old_cost, cost, right)):
            return False
        gid = {a.get_gid(): a for a in left.lines}
        for line in cum.lines:
            gid[f"cumulative-{line.case}"].set_ydata(line.values)
            if line.trough is not None:
                gid[f"trough-{line.case}"].set_data([line.trough[0]], [line.trough[1]])
            if line.payback is not None:
                gid[f"payback-{line.case}"].set_data([line.payback[0]], [line.payback[1]])
            if line.terminal is not None:
                gid[f"terminal-{line.case}"].set_ydata(line.terminal)
        left.relim()  # the limits a fresh drawing gets: the data's, with the chart's margins
        left.autoscale_view()
        bars = [p for p in right.patches if p.get_gid() == "fiscal-cost"]
        for bar, height, color in zip(bars, cost.cost, cost.colors, strict=True):
            bar.set_height(height)
            bar.set_facecolor(color)
        right.set_ylim(*cost.ylim)
        (total,) = [t for t in right.texts if t.get_gid() == "fiscal-window-total"]
        total.set_text(cost.total_text)
        total.set_x(cost.total_x)
        for ax, old, new in ((left, old_cum.labels, cum.labels), (right, old_cost.labels, cost.labels)):
            if old != new:
                legend = ax.get_legend()
                for text, label in zip(legend.get_texts(), new, strict=True):
                    text.set_text(label)
                if legend not in self._dynamic:  # it changes: out of the background from now on
                    self._dynamic.add(legend)
                    self._background = None
        return True

    # ------------------------------------------------------------------ rendering

    def png(self) -> bytes:
        """The figure as a PNG at its resolution: the background once, the changing artists over it."""
        if self._png is not None:
            return self._png
        canvas = self._canvas
        if self._background is None:
            for artist in self._dynamic:
                artist.set_animated(True)  # left out of canvas.draw(), still drawn by savefig
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for ax in self._axes:
            # Axes.draw's order: by zorder, ties in the order of the axes' children
            for artist in sorted((a for a in ax.get_children() if a in self._dynamic), key=_zorder):
                artist.draw(renderer)
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)
        self._png = buffer.getvalue()
        return self._png


def _zorder(artist) -> float:
    return artist.get_zorder()


def _same_charts(old: tuple, new: tuple) -> bool:
    """Whether two sets of parts draw the same charts (every array and text equal)."""
    (old_cum, old_cost), (cum, cost) = old, new
    return (
        old_cum.labels == cum.labels
        and len(old_cum.lines) == len(cum.lines)
        and all(
            (a.trough, a.payback, a.terminal) == (b.trough, b.payback, b.terminal)
            and np.array_equal(a.values, b.values)
            for a, b in zip(old_cum.lines, cum.lines, strict=True)
        )
        and np.array_equal(old_cost.cost, cost.cost)
        and np.array_equal(old_cost.colors, cost.colors)
        and (old_cost.window, old_cost.ylim, old_cost.total_text, old_cost.labels)
        == (cost.window, cost.ylim, cost.total_text, cost.labels)
        and np.array_equal(old_cum.years, cum.years)
    )


def _cumulative_fits(old: CumulativeParts, new: CumulativeParts, ax: Axes) -> bool:
    """Whether the cumulative chart drawn for ``old`` has the artists ``new`` needs, legend included."""
    same_shape = (
        np.array_equal(old.years, new.years)
        and [line.case for line in old.lines] == [line.case for line in new.lines]
        and (old.terminal_label is None) == (new.terminal_label is None)
        and all(
            (a.same_as, a.trough is None, a.payback is None, a.terminal is None)
            == (b.same_as, b.trough is None, b.payback is None, b.terminal is None)
            for a, b in zip(old.lines, new.lines, strict=True)
        )
    )
    return same_shape and _legend_keeps_columns(ax, new.labels, CUMULATIVE_LEGEND_COLUMNS)


def _cost_fits(old: TreasuryCostParts, new: TreasuryCostParts, ax: Axes) -> bool:
    """Whether the Treasury cost chart drawn for ``old`` has the artists ``new`` needs."""
    return (
        np.array_equal(old.years, new.years)
        and old.window == new.window
        and old.total_x == new.total_x
        and _legend_keeps_columns(ax, new.labels, None)
    )


def _legend_keeps_columns(ax: Axes, labels: tuple[str, ...], max_cols: int | None) -> bool:
    """Whether :func:`finmodel.outputs.style.legend_above` would lay ``labels`` out as ``ax``'s
    legend is: in as many columns as it may have, and they fit (otherwise the chart is drawn anew)."""
    legend = ax.get_legend()
    ncols = min(len(labels), max_cols or len(labels))
    if legend is None or len(legend.get_texts()) != len(labels) or legend._ncols != ncols:
        return False
    texts = legend.get_texts()
    if [t.get_text() for t in texts] == list(labels):
        return True
    old = [t.get_text() for t in texts]
    for text, label in zip(texts, labels, strict=True):
        text.set_text(label)
    try:
        return style.legend_fits(ax, legend)
    finally:
        for text, label in zip(texts, old, strict=True):
            text.set_text(label)
