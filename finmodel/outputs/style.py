"""Memo style for finmodel's charts: palette, figure frame, money and year axes.

Charts are pasted 6.5 inches wide into policy and finance memos, so every
figure is :data:`FIG_WIDTH_IN` wide, every font is at least
:data:`MIN_FONT_PT` points, and the frame around the plot is the same on
every chart: a bold title and a grey subtitle flush left at the top, a
footnote (sources and ``finmodel VERSION``) at the bottom, the plot area laid
out by matplotlib's constrained layout in between.

The rc settings live in ``memo.mplstyle`` beside this module
(:data:`STYLE_PATH`); :func:`memo_style` applies them as a context. Colours
are the Okabe-Ito colour-blind-safe palette with fixed meanings: a colour per
case (:data:`CASE_COLORS` for ``without`` and ``with``, :data:`CASE_PALETTE`
by name for the cases a scenario adds, see :func:`case_colors`), per category
group (:data:`GROUP_COLORS`, with a deterministic fallback for other group
names) and for costs and savings.

Nothing here selects a backend or touches pyplot: figures are plain
:class:`matplotlib.figure.Figure` objects with an Agg canvas, so importing
this module (or ``finmodel.outputs.charts``) changes no global state.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import matplotlib
import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator, MultipleLocator

from finmodel.core import format as fmt

__all__ = [
    "STYLE_PATH",
    "FIG_WIDTH_IN",
    "FIG_HEIGHT_IN",
    "PNG_DPI",
    "MIN_FONT_PT",
    "OKABE_ITO",
    "CASE_COLORS",
    "CASE_PALETTE",
    "GROUP_COLORS",
    "FALLBACK_COLORS",
    "COST_COLOR",
    "SAVING_COLOR",
    "TOTAL_COLOR",
    "NEUTRAL_COLOR",
    "memo_style",
    "new_figure",
    "add_title",
    "add_footnote",
    "group_color",
    "group_colors",
    "case_color",
    "case_colors",
    "money_text",
    "MoneyFormatter",
    "money_axis",
    "year_axis",
    "legend_above",
    "legend_fits",
    "figure_renderer",
]

STYLE_PATH = Path(__file__).with_name("memo.mplstyle")

FIG_WIDTH_IN = 6.5  #: width of every chart [inch], a memo's text width
FIG_HEIGHT_IN = 4.4  #: default height [inch]
PNG_DPI = 200  #: PNG resolution [dots per inch]: 1300 px across
MIN_FONT_PT = 8.0  #: no text smaller than this [pt]
TITLE_PT = 11.5
SUBTITLE_PT = 9.0
FOOTNOTE_PT = 8.0
MARGIN_IN = 0.1  #: blank border around the frame [inch]
GAP_IN = 0.06  #: space between title, subtitle, plot and footnote [inch]

#: Okabe & Ito (2008), "Color Universal Design": told apart with every common colour-vision
#: deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
NEUTRAL_COLOR = "#767676"  #: grey for current law and reference lines (4.5:1 contrast on white)
TEXT_COLOR = "#222222"
MUTED_TEXT = "#555555"
CASE_COLORS = {"without": NEUTRAL_COLOR, "with": OKABE_ITO["blue"]}
#: For the cases a scenario adds (``cases:``), chosen by a hash of the name (see :func:`case_colors`):
#: none is a case's fixed colour, the cost colour, yellow (too light for a line on white) or black
#: (reference lines).
CASE_PALETTE = (
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["sky_blue"],
)
GROUP_COLORS = {
    "servers": OKABE_ITO["orange"],
    "data_centers": OKABE_ITO["sky_blue"],
    "grid": OKABE_ITO["bluish_green"],
    "other": OKABE_ITO["reddish_purple"],
}
#: For group names not in GROUP_COLORS, chosen by a hash of the name (see :func:`group_colors`).
FALLBACK_COLORS = (
    OKABE_ITO["vermillion"],
    OKABE_ITO["yellow"],
    OKABE_ITO["blue"],
    OKABE_ITO["black"],
    "#999999",
)
COST_COLOR = OKABE_ITO["vermillion"]  #: a cost (to the Treasury, or added to the owner's cost)
SAVING_COLOR = OKABE_ITO["bluish_green"]  #: a saving or a gain
TOTAL_COLOR = "#4D4D4D"  #: totals in a waterfall


@contextlib.contextmanager
def memo_style() -> Iterator[None]:
    """Apply ``memo.mplstyle`` inside a ``with`` block (rc settings are restored after)."""
    with matplotlib.style.context(STYLE_PATH):
        yield


# --------------------------------------------------------------------------- colours


def group_color(name: str) -> str:
    """The fixed colour of a category group; other names get a colour by CRC-32 of the name.

    >>> group_color("servers")
    '#E69F00'
    >>> group_color("storage") == group_color("storage")
    True
    """
    if name in GROUP_COLORS:
        return GROUP_COLORS[name]
    return FALLBACK_COLORS[zlib.crc32(name.encode()) % len(FALLBACK_COLORS)]


def group_colors(names: Iterable[str]) -> dict[str, str]:
    """Colours for a set of groups: the fixed ones, then distinct fallbacks.

    Unknown names, in sorted order, start at their :func:`group_color` and
    move to the next unused fallback colour on a clash, so the result
    depends only on the set of names.

    >>> group_colors(["grid", "servers"])
    {'grid': '#009E73', 'servers': '#E69F00'}
    """
    names = list(dict.fromkeys(names))
    out = {n: GROUP_COLORS[n] for n in names if n in GROUP_COLORS}
    used = set(out.values())
    for name in sorted(n for n in names if n not in GROUP_COLORS):
        start = FALLBACK_COLORS.index(group_color(name))
        for k in range(len(FALLBACK_COLORS)):
            color = FALLBACK_COLORS[(start + k) % len(FALLBACK_COLORS)]
            if color not in used:
                break
        out[name] = color
        used.add(color)
    return {n: out[n] for n in names}


def case_color(case: str) -> str:
    """``without``: grey; ``with``: blue; any other case (``cases:``): by CRC-32 of its name.

    >>> case_color("without"), case_color("with"), case_color("both")
    ('#767676', '#0072B2', '#CC79A7')
    """
    return CASE_COLORS.get(case) or CASE_PALETTE[zlib.crc32(case.encode()) % len(CASE_PALETTE)]


def case_colors(cases: Iterable[str]) -> dict[str, str]:
    """Colours for the cases of a scenario (or of several): the fixed ones, then distinct palette colours.

    A named case gets its :func:`case_color`; where two names would share a
    colour, the later of them in sorted order moves to the next unused
    palette colour, so the result depends only on the set of names and a
    case keeps its colour in every chart of the same scenarios. Beyond
    ``len(CASE_PALETTE)`` named cases, colours repeat.

    >>> case_colors(["without", "with", "guarantee_only", "both"])
    {'without': '#767676', 'with': '#0072B2', 'guarantee_only': '#56B4E9', 'both': '#CC79A7'}
    """
    cases = list(dict.fromkeys(cases))
    out = {c: CASE_COLORS[c] for c in cases if c in CASE_COLORS}
    used: set[str] = set()
    for name in sorted(c for c in cases if c not in CASE_COLORS):
        start = CASE_PALETTE.index(case_color(name))
        free = [CASE_PALETTE[(start + k) % len(CASE_PALETTE)] for k in range(len(CASE_PALETTE))]
        color = next((c for c in free if c not in used), free[0])
        out[name] = color
        used.add(color)
        if len(used) == len(CASE_PALETTE):
            used = set()
    return {c: out[c] for c in cases}


# --------------------------------------------------------------------------- numbers

MINUS = fmt.MINUS  #: charts write negative figures with the typographic minus sign


def money_text(x: float | None, unit: str = "USD", sign: bool = False) -> str:
    """A money figure on a chart: :func:`finmodel.core.format.money` with the typographic minus.

    >>> money_text(1.2345e12), money_text(-2.5e9, sign=True), money_text(9.3e9, "USD/GW-year")
    ('$1,234.5B', '−$2.5B', '$9.30B')
    """
    return fmt.money(x, unit, sign=sign, minus=MINUS)


class MoneyFormatter(Formatter):
    """Tick labels in ``$B`` (or another unit) with thousands separators.

    The number of decimals is the fewest that tells the ticks apart, so a
    $0.5B step reads ``$1.5B`` and a $200B step reads ``$1,200B``. The data
    stay in USD: the formatter only divides for display.
    """

    def __init__(self, unit: str = "B", suffix: str = ""):
        self.unit = unit
        self.suffix = suffix
        self.decimals = 0

    def set_locs(self, locs):
        super().set_locs(locs)
        scaled = [float(x) / fmt.SCALES[self.unit] for x in locs]
        self.decimals = 3
        for d in range(4):
            if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in scaled):
                self.decimals = d
                break

    def __call__(self, x, pos=None):
        return fmt.money(x, decimals=self.decimals, scale=self.unit, minus=MINUS) + self.suffix


def money_axis(ax: Axes, axis: str = "y", unit: str = "B", suffix: str = "", nbins: int = 6) -> None:
    """Format ``ax``'s ``axis`` ("x" or "y") as money held in USD, shown in ``unit``."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))
    target.set_major_formatter(MoneyFormatter(unit, suffix))


def year_axis(ax: Axes, years: Sequence[int], axis: str = "x") -> None:
    """Calendar years on ``axis``: every year if there are up to 10, else every other year."""
    years = [int(y) for y in years]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MultipleLocator(1 if len(years) <= 10 else 2))
    target.set_minor_locator(MultipleLocator(1))
    target.set_major_formatter(FuncFormatter(lambda x, pos: fmt.year(x)))
    lim = (years[0] - 0.6, years[-1] + 0.6)
    ax.set_xlim(*lim) if axis == "x" else ax.set_ylim(*lim)


# --------------------------------------------------------------------------- figure frame


def new_figure(height_in: float = FIG_HEIGHT_IN) -> tuple[Figure, Axes]:
    """A memo-width figure with one Axes, constrained layout and an Agg canvas (no pyplot).

    Call it inside :func:`memo_style` so the Axes take the memo rc settings.
    """
    fig = Figure(figsize=(FIG_WIDTH_IN, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    fig.get_layout_engine().set(w_pad=0.04, h_pad=0.04)
    ax = fig.add_subplot()
    return fig, ax


def figure_renderer(fig: Figure):
    """The figure's renderer, to measure text before the figure is drawn."""
    get = getattr(fig.canvas, "get_renderer", None)
    return get() if get is not None else fig._get_renderer()


def _frame(fig: Figure) -> dict:
    frame = getattr(fig, "_finmodel_frame", None)
    if frame is None:
        frame = {"title": None, "subtitle": None, "footnote": None}
        fig._finmodel_frame = frame
    return frame


def _wrap(artist: Text, text: str, width_px: float, renderer) -> str:
    """Greedy word wrap of ``text`` so that ``artist`` is at most ``width_px`` wide."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            artist.set_text(trial)
            if line and artist.get_window_extent(renderer).width > width_px:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    wrapped = "\n".join(lines)
    artist.set_text(wrapped)
    return wrapped


def _place(fig: Figure) -> None:
    """Stack title and subtitle from the top, the footnote at the bottom, the plot between."""
    frame = _frame(fig)
    renderer = figure_renderer(fig)
    width_in, height_in = fig.get_size_inches()
    dpi = fig.dpi
    x = MARGIN_IN / width_in
    width_px = (width_in - 2 * MARGIN_IN) * dpi
    top = height_in - MARGIN_IN
    for key in ("title", "subtitle"):
        item = frame[key]
        if item is None:
            continue
        artist, text = item
        _wrap(artist, text, width_px, renderer)
        artist.set_position((x, top / height_in))
        top -= artist.get_window_extent(renderer).height / dpi + GAP_IN
    bottom = MARGIN_IN
    if frame["footnote"] is not None:
        artist, text = frame["footnote"]
        _wrap(artist, text, width_px, renderer)
        artist.set_position((x, bottom / height_in))
        bottom += artist.get_window_extent(renderer).height / dpi + GAP_IN
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        lo, hi = bottom / height_in, top / height_in
        engine.set(rect=(0.0, lo, 1.0, hi - lo))


def add_title(target: Figure | Axes, title: str, subtitle: str | None = None) -> None:
    """Title (bold) and subtitle (grey) flush left at the top of a figure; on an Axes, its title.

    The subtitle is wrapped to the figure width; the plot area moves down to
    make room (constrained layout ``rect``).
    """
    if isinstance(target, Axes):
        target.set_title(title + (f"\n{subtitle}" if subtitle else ""), loc="left", fontsize=10)
        return
    fig = target
    frame = _frame(fig)
    for key, text, size, weight, color in (
        ("title", title, TITLE_PT, "bold", TEXT_COLOR),
        ("subtitle", subtitle, SUBTITLE_PT, "normal", MUTED_TEXT),
    ):
        if frame[key] is not None:
            frame[key][0].remove()
            frame[key] = None
        if text:
            artist = fig.text(
                0,
                1,
                text,
                ha="left",
                va="top",
                fontsize=size,
                fontweight=weight,
                color=color,
                gid=f"finmodel-{key}",
            )
            frame[key] = (artist, text)
    _place(fig)


def add_footnote(fig: Figure, text: str) -> None:
    """A footnote (sources, version) at the bottom left, wrapped to the figure width, 8 pt grey."""
    frame = _frame(fig)
    if frame["footnote"] is not None:
        frame["footnote"][0].remove()
    artist = fig.text(
        0,
        0,
        text,
        ha="left",
        va="bottom",
        fontsize=FOOTNOTE_PT,
        color=MUTED_TEXT,
        gid="finmodel-footnote",
        linespacing=1.3,
    )
    frame["footnote"] = (artist, text)
    _place(fig)


def legend_above(
    ax: Axes, handles: Sequence, labels: Sequence[str], max_cols: int | None = None, left_in: float = 0.0
):
    """A frameless legend just above the plot, left aligned, in as many columns as fit.

    ``left_in``: the width taken left of the plot (row labels) [inch], which the legend cannot use.
    """
    ncols = min(len(labels), max_cols or len(labels))
    while True:
        legend = ax.legend(
            handles,
            labels,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.01),
            ncols=ncols,
            borderaxespad=0.0,
            borderpad=0.2,
            handletextpad=0.5,
        )
        if ncols == 1 or legend_fits(ax, legend, left_in):
            return legend
        ncols -= 1


def legend_fits(ax: Axes, legend, left_in: float = 0.0) -> bool:
    """Whether ``legend`` fits in the width :func:`legend_above` gives it, as its texts read now."""
    fig = ax.figure
    width_px = (fig.get_size_inches()[0] - 2 * MARGIN_IN - 0.5 - left_in) * fig.dpi
    return legend.get_window_extent(figure_renderer(fig)).width <= width_px
