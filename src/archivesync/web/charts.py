"""Server-side SVG charts: no script, no CDN, readable without a network.

Each function returns markup (`markupsafe.Markup`) to place in a page as is; every text in it
is escaped here. Charts carry a <title> for screen readers and a CSS class per part, so
console.css styles them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 36


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above `value` (at least 1)."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step  # pragma: no cover - the loop always returns


def _tick_label(value: float) -> str:
    if value >= 10_000 and value % 1000 == 0:
        return f"{value / 10_000:g}万"
    if value >= 10 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, y_max: float, y_format=_tick_label) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(value))}</text>"
        )
    return parts


def _x_labels(labels: Sequence[str], xs: Sequence[float], most: int = 8) -> list[str]:
    if not labels:
        return []
    every = max(1, -(-len(labels) // most))
    out = []
    for i in range(0, len(labels), every):
        out.append(
            f'<text class="tick" x="{xs[i]:.1f}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    return out


def empty(message: str) -> Markup:
    """A placeholder where a chart has no data, saying why."""
    return Markup(f'<p class="chart-empty">{escape(message)}</p>')


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None]) -> Markup:
    """Vertical bars, one per label (e.g. a month)."""
    numbers = [v or 0 for v in values]
    if not numbers:
        return empty("データがありません")
    y_max = _nice_max(max(numbers))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(numbers)
    parts = _frame(title, y_max)
    xs = []
    for i, (label, value) in enumerate(zip(labels, numbers, strict=True)):
        h = plot_h * value / y_max
        x = LEFT + i * slot + slot * 0.15
        xs.append(LEFT + i * slot + slot / 2)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}"><title>{escape(label)}: '
            f"{escape(_tick_label(value))}</title></rect>"
        )
    parts += _x_labels(labels, xs)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    title: str,
    points: Sequence[tuple[date, float]],
    *,
    second: Sequence[tuple[date, float]] = (),
    markers: Sequence[tuple[date, str]] = (),
) -> Markup:
    """A line over dates (e.g. views over time); `second` is drawn dashed on the same axes.

    `markers` are vertical lines at dates inside the range, each with its explanation.
    """
    if not points and not second:
        return empty("データがありません")
    days = [d for d, _ in [*points, *second]]
    first, last = min(days), max(days)
    span = max(1, (last - first).days)
    y_max = _nice_max(max(v for _, v in [*points, *second]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(d: date, v: float) -> tuple[float, float]:
        return LEFT + plot_w * (d - first).days / span, TOP + plot_h - plot_h * v / y_max

    parts = _frame(title, y_max)
    for day, note in markers:
        if first <= day <= last:
            x = xy(day, 0)[0]
            parts.append(
                f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}">'
                f"<title>{escape(note)}</title></line>"
            )
    for css, series in (("line", points), ("line second", second)):
        if not series:
            continue
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(d, v) for d, v in series))
        parts.append(f'<polyline class="{css}" points="{coords}"/>')
        if len(series) <= 60:
            for d, v in series:
                x, y = xy(d, v)
                parts.append(
                    f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>'
                    f"{d.isoformat()}: {escape(_tick_label(v))}</title></circle>"
                )
    ticks = sorted(set(days))
    labels = [d.isoformat() for d in ticks]
    parts += _x_labels(labels, [xy(d, 0)[0] for d in ticks], most=6)
    parts.append("</svg>")
    return Markup("".join(parts))


def retention_chart(
    title: str,
    points: Sequence[tuple[float, float]],
    duration_seconds: int,
    chapters: Sequence[tuple[int, str]],
) -> Markup:
    """Audience retention (ratio of viewers, by second) with a line at each chapter start."""
    if not points or not duration_seconds:
        return empty("視聴維持率のデータがありません")
    y_max = _nice_max(max(max(r for _, r in points), 1.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(second: float) -> float:
        return LEFT + plot_w * second / duration_seconds

    parts = _frame(title, y_max, lambda v: f"{v * 100:.0f}%")
    for start, chapter_title in chapters:
        x = x_of(start)
        parts.append(
            f'<line class="chapter" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
            f'y2="{TOP + plot_h}"><title>{escape(chapter_title)}</title></line>'
        )
    coords = " ".join(
        f"{x_of(ratio * duration_seconds):.1f},{TOP + plot_h - plot_h * watch / y_max:.1f}"
        for ratio, watch in points
    )
    parts.append(f'<polyline class="line" points="{coords}"/>')
    marks = [i * duration_seconds / 6 for i in range(7)]
    parts += _x_labels([_clock(s) for s in marks], [x_of(s) for s in marks], most=7)
    parts.append("</svg>")
    return Markup("".join(parts))


def _clock(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
