"""Charts drawn on the server as inline SVG: no script, every text escaped (no I/O).

Each chart carries `role="img"` and a title for screen readers; the pages show the
same numbers in a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Colours with at least 4.5:1 contrast on white (bars, and text drawn in them).
PALETTE = ("#1d4f91", "#8a3b12", "#22693a", "#6b2d84", "#7a5c00", "#0f6470")
INK = "#1a1a1a"
MUTED = "#595959"


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str,
              unit: str = "", width: int = 640) -> Markup:
    """Horizontal bars, one per label, with the value written beside each."""
    bar, gap, label_w, top = 22, 8, min(260, width // 3), 8
    height = top + len(labels) * (bar + gap) + 8
    peak = max((v for v in values), default=0) or 1
    span = width - label_w - 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_t(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" class="chart">',
             f"<title>{_t(title)}</title>"]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * (bar + gap)
        length = max(0.0, value) / peak * span
        short = label if len(label) <= 38 else label[:36] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end" '
                     f'font-size="13" fill="{INK}">{_t(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar}" '
                     f'fill="{PALETTE[index % len(PALETTE)]}"><title>{_t(label)}: '
                     f'{_t(_number(value))}{_t(unit)}</title></rect>')
        parts.append(f'<text x="{label_w + length + 6:.1f}" y="{y + bar * 0.7:.1f}" '
                     f'font-size="13" fill="{INK}">{_t(_number(value))}{_t(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in parts went through _t()


def column_chart(labels: Sequence[str], values: Sequence[float], *, title: str,
                 width: int = 640, height: int = 260) -> Markup:
    """Vertical columns over a zero line (negative values drawn below it)."""
    left, bottom, top = 56, 48, 12
    n = max(len(values), 1)
    hi, lo = max([0.0, *values]), min([0.0, *values])
    span = (hi - lo) or 1
    plot_h = height - top - bottom
    zero_y = top + hi / span * plot_h
    step = (width - left - 8) / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_t(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" class="chart">',
             f"<title>{_t(title)}</title>",
             f'<line x1="{left}" y1="{zero_y:.1f}" x2="{width - 8}" y2="{zero_y:.1f}" '
             f'stroke="{MUTED}"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11" '
             f'fill="{INK}">{_t(_number(hi))}</text>']
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + index * step + step * 0.15
        h = abs(value) / span * plot_h
        y = zero_y - h if value >= 0 else zero_y
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{PALETTE[0]}"><title>{_t(label)}: {_t(_number(value))}</title>'
                     "</rect>")
        if n <= 24:
            short = label if len(label) <= 10 else label[:9] + "…"
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" font-size="11" fill="{INK}">{_t(short)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in parts went through _t()


def heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[int]], *,
            title: str, width: int = 720) -> Markup:
    """A grid of counts (e.g. offices by month), darker where there are more."""
    label_w, head, cell_h = 200, 28, 24
    cell_w = max(28.0, (width - label_w) / max(len(columns), 1))
    width = int(label_w + cell_w * len(columns)) + 4
    height = head + cell_h * len(rows) + 4
    peak = max((v for row in values for v in row), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_t(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" class="chart">',
             f"<title>{_t(title)}</title>"]
    for c, column in enumerate(columns):
        parts.append(f'<text x="{label_w + c * cell_w + cell_w / 2:.1f}" y="18" '
                     f'text-anchor="middle" font-size="11" fill="{INK}">{_t(column)}</text>')
    for r, row in enumerate(rows):
        y = head + r * cell_h
        short = row if len(row) <= 30 else row[:28] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12" '
                     f'fill="{INK}">{_t(short)}</text>')
        for c, value in enumerate(values[r]):
            share = value / peak
            # From near-white to the dark blue of the palette; the text flips to white.
            shade = int(245 - share * 200)
            fill = f"rgb({shade - 20 if value else 245},{shade if value else 245},245)"
            ink = "#ffffff" if share > 0.5 else INK
            x = label_w + c * cell_w
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 2:.1f}" '
                         f'height="{cell_h - 2}" fill="{fill}"><title>{_t(row)}, '
                         f'{_t(columns[c])}: {value}</title></rect>')
            if value:
                parts.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + 16}" '
                             f'text-anchor="middle" font-size="11" fill="{ink}">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in parts went through _t()
