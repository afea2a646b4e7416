"""What a reader would see as broken in a chart: text cut by the edge, overlapping, too small.

Test code, shared by the chart tests (``from layout import layout_problems``):
the package draws charts, the tests judge their layout.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.text import Text

from finmodel.outputs.style import MIN_FONT_PT

__all__ = ["layout_problems"]


def _drawn_texts(fig: Figure) -> list[Text]:
    """Every visible, non-empty text the figure draws (tick labels outside the view left out)."""
    skip: set[int] = set()
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(lo, hi), max(lo, hi)
            span = hi - lo
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not lo - 1e-9 * span <= loc <= hi + 1e-9 * span or not tick.get_visible():
                    skip.update({id(tick.label1), id(tick.label2)})
                if not tick.label2.get_visible():
                    skip.add(id(tick.label2))
    out = []
    for t in fig.findobj(Text):
        if id(t) in skip or not t.get_visible() or not t.get_text().strip():
            continue
        parent = t.axes
        if parent is not None and not parent.get_visible():
            continue
        out.append(t)
    return out


def _polyline_hits(points, box) -> bool:
    """Whether the polyline through ``points`` (display coordinates) enters ``box``."""
    pts = [p for p in points if all(math.isfinite(c) for c in p)]
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=False):
        n = 64
        for k in range(n + 1):
            x, y = x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n
            if box.x0 < x < box.x1 and box.y0 < y < box.y1:
                return True
    if len(pts) == 1:
        x, y = pts[0]
        return box.x0 < x < box.x1 and box.y0 < y < box.y1
    return False


def layout_problems(fig: Figure, tol_px: float = 1.0) -> list[str]:
    """What a reader would see as broken: text cut by the edge, overlapping, too small.

    Lays the figure out as drawing it does (``Figure.draw_without_rendering``:
    every artist's draw runs, layout engine included, and only the rasterizing,
    which nothing here reads, is skipped) and returns one message per problem
    (empty: fine).
    Two texts overlap when their rendered boxes intersect by more than
    ``tol_px`` pixels both ways. A label placed in a plot (``ax.texts``)
    must stay inside the plot area and touch no plotted line and no bar
    (patches with ``zorder >= 1``; a shaded background band has zorder 0),
    unless its gid starts with ``inside`` (a label written on its own bar).
    """
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    texts = _drawn_texts(fig)
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    problems = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        frame = ax.get_window_extent(renderer)
        shapes = [
            ("line", ln, ln.get_transform().transform(ln.get_xydata())) for ln in ax.lines if ln.get_visible()
        ]
        shapes += [
            ("bar", p, p.get_window_extent(renderer))
            for p in ax.patches
            if p.get_visible() and p.get_zorder() >= 1
        ]
        for t in ax.texts:
            if t not in texts:
                continue
            b = t.get_window_extent(renderer)
            if (
                b.x0 < frame.x0 - tol_px
                or b.x1 > frame.x1 + tol_px
                or b.y0 < frame.y0 - tol_px
                or b.y1 > frame.y1 + tol_px
            ):
                problems.append(f"label {t.get_text()!r} sticks out of its plot area")
            if (t.get_gid() or "").startswith("inside"):
                continue
            inner = type(b).from_extents(b.x0 + tol_px, b.y0 + tol_px, b.x1 - tol_px, b.y1 - tol_px)
            for kind, artist, shape in shapes:
                if kind == "line" and _polyline_hits(shape, inner):
                    problems.append(
                        f"label {t.get_text()!r} is crossed by line "
                        f"{artist.get_gid() or artist.get_label()!r}"
                    )
                elif kind == "bar" and inner.overlaps(shape):
                    problems.append(f"label {t.get_text()!r} overlaps bar {artist.get_gid()!r}")
    for t, b in boxes:
        if b.x0 < -tol_px or b.y0 < -tol_px or b.x1 > W + tol_px or b.y1 > H + tol_px:
            problems.append(
                f"text {t.get_text()!r} is cut by the figure edge "
                f"({b.x0:.0f},{b.y0:.0f})-({b.x1:.0f},{b.y1:.0f}) in {W:.0f}x{H:.0f}"
            )
        if t.get_fontsize() < MIN_FONT_PT - 1e-9:
            problems.append(f"text {t.get_text()!r} is {t.get_fontsize():g} pt, under {MIN_FONT_PT:g} pt")
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (t1, b1), (t2, b2) = boxes[i], boxes[j]
            dx = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
            dy = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
            if dx > tol_px and dy > tol_px:
                problems.append(f"texts {t1.get_text()!r} and {t2.get_text()!r} overlap")
    return problems
