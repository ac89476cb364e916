"""The console's charts as inline SVG, drawn on the server: no script, no library, readable by a
screen reader through each chart's `role="img"` and its label, and each chart sits beside a table
of the same numbers.

`funnel_bars`: one horizontal bar per stage of a step's funnel, scaled to the step's enrolled.
`balance_line`: the credit balance after each ledger entry, as a stepped line over time.
`warmup_curve`: a sender account's daily limit over its first days of warm-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

BAR_WIDTH = 320


def funnel_bars(label: str, stages: Sequence[tuple[str, int]]) -> Markup:
    top = max([count for _, count in stages] + [1])
    row, height = 22, 22 * len(stages) + 4
    parts = [
        f'<svg class="funnel" role="img" aria-label="{escape(label)}" width="{BAR_WIDTH + 190}" '
        f'height="{height}" viewBox="0 0 {BAR_WIDTH + 190} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (name, count) in enumerate(stages):
        y = 2 + index * row
        width = round(BAR_WIDTH * count / top)
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="13">{escape(name)}</text>'
            f'<rect x="100" y="{y}" width="{max(width, 1)}" height="{row - 6}" class="bar bar-{escape(name)}"/>'
            f'<text x="{104 + width}" y="{y + 15}" font-size="13">{count:,}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def balance_line(label: str, points: Sequence[tuple[datetime, int]]) -> Markup:
    width, height, pad = 640, 200, 40
    if not points:
        return Markup(f'<p class="empty">{escape(label)}: no ledger entries yet.</p>')
    start, end = points[0][0].timestamp(), points[-1][0].timestamp()
    span = max(end - start, 1.0)
    low, high = min(0, *(v for _, v in points)), max(1, *(v for _, v in points))

    def x(at: datetime) -> float:
        return pad + (width - 2 * pad) * (at.timestamp() - start) / span

    def y(value: int) -> float:
        return height - pad - (height - 2 * pad) * (value - low) / (high - low)

    path, previous = [], None
    for at, value in points:
        if previous is None:
            path.append(f"M{x(at):.1f},{y(value):.1f}")
        else:
            path.append(f"H{x(at):.1f}V{y(value):.1f}")  # the balance holds until the next entry
        previous = value
    return Markup(
        f'<svg class="line" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" class="axis"/>'
        f'<text x="2" y="{y(high) + 4:.1f}" font-size="11">{high:,}</text>'
        f'<text x="2" y="{y(low) + 4:.1f}" font-size="11">{low:,}</text>'
        f'<text x="{pad}" y="{height - 12}" font-size="11">{escape(points[0][0].strftime("%Y-%m-%d %H:%M"))}</text>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="11" text-anchor="end">'
        f"{escape(points[-1][0].strftime('%Y-%m-%d %H:%M'))}</text>"
        f'<path d="{" ".join(path)}" class="series"/></svg>'
    )


def warmup_curve(label: str, limits: Sequence[int]) -> Markup:
    width, height = 160, 40
    top = max([*limits, 1])
    step = width / max(len(limits) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(limits)
    )
    return Markup(
        f'<svg class="spark" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline points="{points}" class="series"/></svg>'
    )
