"""Charts as inline SVG, rendered on the server: nothing to download, nothing from the network.

`recovery_chart` draws one patient's course after a session: days since the session across,
three lanes down (check-ins, reports, staff replies), one mark per event, each with a
``<title>`` (the browser's tooltip, read by screen readers) and a text label where it fits.
`bar_chart` draws one weekly figure. Every text is escaped; colours are backed by shapes so
the marks read without colour too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

CHECKIN_STYLE = {  # category -> (fill, shape)
    "fine": ("#2e7d32", "circle"),
    "concern": ("#b26a00", "triangle"),
    "problem": ("#c62828", "square"),
    "no answer": ("#ffffff", "ring"),
    "planned": ("#ffffff", "dash"),
}
REPORT_COLOURS = {"emergency": "#b71c1c", "urgent": "#e65100", "other": "#1565c0"}


@dataclass(frozen=True)
class Mark:
    """One event on the recovery chart."""

    lane: int  # 0 check-ins, 1 reports, 2 staff replies
    day: float
    kind: str  # check-in category, report tier, or "reply"
    title: str  # tooltip text (plain)


def _shape(kind: str, x: float, y: float) -> str:
    fill, shape = CHECKIN_STYLE.get(kind, ("#555555", "circle"))
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{fill}" stroke="#1b1b1b"/>'
    if shape == "ring":
        return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}" stroke="#555" '
                f'stroke-width="2" stroke-dasharray="3 2"/>')
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - 8:.1f} {x + 8:.1f},{y + 6:.1f} '
                f'{x - 8:.1f},{y + 6:.1f}" fill="{fill}" stroke="#1b1b1b"/>')
    if shape == "square":
        return (f'<rect x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" fill="{fill}" '
                f'stroke="#1b1b1b"/>')
    return (f'<line x1="{x - 6:.1f}" y1="{y:.1f}" x2="{x + 6:.1f}" y2="{y:.1f}" stroke="#777" '
            f'stroke-width="3"/>')


def recovery_chart(marks: Sequence[Mark], days: int, title: str, lanes: Sequence[str],
                   axis: str) -> Markup:
    """The SVG for a patient's recovery (`days`: the last day on the axis), with the names of
    its `lanes` (check-ins, reports, staff replies: a mark's `lane` indexes them) and the
    `axis` label (bot/web/texts.yaml "chart")."""
    days = max(days, 1)
    left, right, top, lane_h = 110, 20, 30, 46
    width = 760
    plot = width - left - right
    height = top + lane_h * len(lanes) + 40

    def x(day: float) -> float:
        return left + plot * min(max(day, 0), days) / days

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart recovery" role="img" '
              f'viewBox="0 0 {width} {height}" aria-labelledby="recovery-title">'),
             f'<title id="recovery-title">{escape(title)}</title>']
    for lane, name in enumerate(lanes):
        y = top + lane_h * lane + lane_h / 2
        parts.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="lane">{escape(name)}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
    axis_y = top + lane_h * len(lanes)
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" '
                 f'stroke="#333"/>')
    step = 1 if days <= 16 else 2 if days <= 32 else 7
    for day in range(0, days + 1, step):
        parts.append(f'<line x1="{x(day):.1f}" y1="{axis_y}" x2="{x(day):.1f}" '
                     f'y2="{axis_y + 5}" stroke="#333"/>')
        parts.append(f'<text x="{x(day):.1f}" y="{axis_y + 18}" text-anchor="middle" '
                     f'class="tick">{day}</text>')
    parts.append(f'<text x="{left + plot / 2:.1f}" y="{axis_y + 36}" text-anchor="middle" '
                 f'class="axis">{escape(axis)}</text>')
    for mark in marks:
        y = top + lane_h * mark.lane + lane_h / 2
        cx = x(mark.day)
        css = f"mark mark-{mark.kind.replace(' ', '-')}"
        parts.append(f'<g class="{escape(css)}" data-lane="{mark.lane}" data-day="{mark.day:g}" '
                     f'data-kind="{escape(mark.kind)}"><title>{escape(mark.title)}</title>')
        if mark.lane == 0:
            parts.append(_shape(mark.kind, cx, y))
        elif mark.lane == 1:
            colour = REPORT_COLOURS.get(mark.kind, REPORT_COLOURS["other"])
            parts.append(f'<polygon points="{cx:.1f},{y - 9:.1f} {cx + 9:.1f},{y:.1f} '
                         f'{cx:.1f},{y + 9:.1f} {cx - 9:.1f},{y:.1f}" fill="{colour}" '
                         f'stroke="#1b1b1b"/>')
        else:
            parts.append(f'<rect x="{cx - 3:.1f}" y="{y - 10:.1f}" width="6" height="20" '
                         f'fill="#37474f"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None],
              unit: str = "", css: str = "") -> Markup:
    """A small vertical bar chart, one bar per week, the value printed on each bar."""
    width, height, left, bottom, top = 640, 190, 10, 34, 20
    n = max(len(values), 1)
    slot = (width - 2 * left) / n
    numbers = [v for v in values if v is not None]
    peak = max(numbers) if numbers and max(numbers) > 0 else 1.0
    plot_h = height - bottom - top
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bars {escape(css)}" '
              f'role="img" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'),
             (f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" '
              f'y2="{height - bottom}" stroke="#333"/>')]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        cx = left + slot * i + slot / 2
        if value is not None:
            h = plot_h * value / peak
            parts.append(f'<rect x="{cx - slot * 0.35:.1f}" y="{height - bottom - h:.1f}" '
                         f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="#3f6fb5">'
                         f'<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>')
            parts.append(f'<text x="{cx:.1f}" y="{height - bottom - h - 4:.1f}" '
                         f'text-anchor="middle" class="value">{value:g}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                     f'class="tick">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
