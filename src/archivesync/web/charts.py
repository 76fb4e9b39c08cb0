"""Server-side SVG charts: no script, no CDN, readable without a network.

Each drawing function returns markup (`markupsafe.Markup`) to place in a page as is; every
text in it is escaped here. Charts carry a <title> for screen readers and a CSS class per part,
so console.css styles them; `Figures` gives each chart its text alternative (a sentence and
the figures as a table) for those who cannot see it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 36
# A label centred on the last point would run past the right edge by half its width.
LABEL_ROOM = 40


def _step(raw: float, integer: bool) -> float:
    """The smallest 1/2/5 x 10^n at or above `raw` (at least 1 for counts)."""
    if raw <= 0:
        return 1
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * step >= raw:
            step = m * step
            break
    return max(1, step) if integer else step


def ticks(top: float, *, integer: bool = True, most: int = 4) -> list[float]:
    """Axis values from 0 to at least `top` in round steps; whole numbers for counts."""
    step = _step(top / most if top > 0 else 1, integer)
    count = max(1, math.ceil(top / step)) if top > 0 else (most if integer else 1)
    return [round(i * step, 10) for i in range(count + 1)]


def count_label(value: float) -> str:
    """A count as a tick or a figure: ``12,345``, ``3万`` for round ten thousands."""
    if value >= 10_000 and value % 1000 == 0:
        return f"{value / 10_000:g}万"
    if value >= 10 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def hours_label(hours: float) -> str:
    """Hours as h:mm (``1:30`` for an hour and a half)."""
    minutes = round(hours * 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def percent_label(ratio: float) -> str:
    """A ratio as a whole percentage."""
    return f"{ratio * 100:.0f}%"


def clock_label(seconds: float) -> str:
    """A position in a video as h:mm:ss."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _frame(title: str, axis: Sequence[float], y_format: Callable[[float], str]) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    plot_h = HEIGHT - TOP - BOTTOM
    for i, value in enumerate(axis):
        y = TOP + plot_h - plot_h * i / (len(axis) - 1)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(y_format(value))}</text>"
        )
    return parts


def _x_labels(labels: Sequence[str], xs: Sequence[float], most: int = 8) -> list[str]:
    """Every n-th label, the last one always, anchored so that none runs off the chart."""
    if not labels:
        return []
    every = max(1, -(-len(labels) // most))
    shown = list(range(0, len(labels), every))
    last = len(labels) - 1
    if shown[-1] != last:
        # The last label replaces the one before it when the two would overlap.
        if last - shown[-1] < every / 2 and len(shown) > 1:
            shown[-1] = last
        else:
            shown.append(last)
    out = []
    for i in shown:
        anchor = "middle"
        if xs[i] > WIDTH - RIGHT - LABEL_ROOM:
            anchor = "end"
        elif xs[i] < LEFT + LABEL_ROOM and len(shown) > 1:
            anchor = "start"
        out.append(
            f'<text class="tick" x="{xs[i]:.1f}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="{anchor}">{escape(labels[i])}</text>'
        )
    return out


def empty(message: str) -> Markup:
    """A placeholder where a chart has no data, saying why."""
    return Markup(f'<p class="chart-empty">{escape(message)}</p>')


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    y_format: Callable[[float], str] = count_label,
    integer: bool = True,
) -> Markup:
    """Vertical bars, one per label (e.g. a month); a lone bar carries its figure."""
    numbers = [v or 0 for v in values]
    if not numbers:
        return empty("データがありません")
    axis = ticks(max(numbers), integer=integer)
    y_max = axis[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    # One observation is one bar of a sensible width, not a slab across the whole chart.
    slot = plot_w / max(len(numbers), 6)
    start = LEFT + (plot_w - slot * len(numbers)) / 2
    parts = _frame(title, axis, y_format)
    xs = []
    for i, (label, value) in enumerate(zip(labels, numbers, strict=True)):
        h = plot_h * value / y_max
        x = start + i * slot + slot * 0.15
        xs.append(start + i * slot + slot / 2)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h:.1f}"><title>{escape(label)}: '
            f"{escape(y_format(value))}</title></rect>"
        )
        if len(numbers) == 1:
            parts.append(
                f'<text class="figure" x="{xs[0]:.1f}" y="{TOP + plot_h - h - 6:.1f}" '
                f'text-anchor="middle">{escape(y_format(value))}</text>'
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

    `markers` are vertical lines at dates inside the range, each with its explanation. A
    single observation has no line to draw: it is shown as one bar with its figure.
    """
    if not points and not second:
        return empty("データがありません")
    if len(points) == 1 and not second:
        ((day, value),) = points
        return bar_chart(title, [day.isoformat()], [value])
    days = [d for d, _ in [*points, *second]]
    first, last = min(days), max(days)
    span = max(1, (last - first).days)
    axis = ticks(max(v for _, v in [*points, *second]))
    y_max = axis[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(d: date, v: float) -> tuple[float, float]:
        return LEFT + plot_w * (d - first).days / span, TOP + plot_h - plot_h * v / y_max

    parts = _frame(title, axis, count_label)
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
                    f"{d.isoformat()}: {escape(count_label(v))}</title></circle>"
                )
    marks = sorted(set(days))
    labels = [d.isoformat() for d in marks]
    parts += _x_labels(labels, [xy(d, 0)[0] for d in marks], most=6)
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
    axis = ticks(max(max(r for _, r in points), 1.0), integer=False)
    y_max = axis[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(second: float) -> float:
        return LEFT + plot_w * second / duration_seconds

    parts = _frame(title, axis, percent_label)
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
    parts += _x_labels([clock_label(s) for s in marks], [x_of(s) for s in marks], most=7)
    parts.append("</svg>")
    return Markup("".join(parts))


# A daily series longer than this is tabled by month: 62 rows (two months) can still be read
# row by row with a screen reader; years of days (1,700 rows) cannot.
LONG_DAILY = 62


@dataclass
class Figures:
    """A chart's text alternative: what is counted, and its figures row by row."""

    what: str  # 公開本数
    key: str  # 月
    unit_format: Callable[[float], str] = count_label
    rows: list[tuple[str, float]] = field(default_factory=list)
    # Rows labelled by day (YYYY-MM-DD) whose long series is tabled by month: "sum" for counts
    # per day (the month's total and daily mean), "last" for a running total (the month's
    # last observation). None: every row as it is.
    by_month: str | None = None

    def summary(self) -> str:
        """One sentence: the span, the highest figure and when, the latest figure."""
        if not self.rows:
            return "データがありません。"
        (first, _), (last, last_value) = self.rows[0], self.rows[-1]
        top_label, top_value = max(self.rows, key=lambda r: r[1])
        fmt = self.unit_format
        if len(self.rows) == 1:
            return f"{self.what}: {first} の 1 件のみ、{fmt(last_value)}。"
        return (
            f"{self.what}: {first}〜{last} の {len(self.rows)} 件。"
            f"最大は {top_label} の {fmt(top_value)}、最後は {fmt(last_value)}。"
        )

    def table(self) -> Markup:
        """The figures as a table a screen reader can read: a long daily series by month."""
        if self.by_month and len(self.rows) > LONG_DAILY:
            return self._monthly_table()
        return _table(
            None, [self.key, self.what], [[label, self.unit_format(v)] for label, v in self.rows]
        )

    def _monthly_table(self) -> Markup:
        months: dict[str, list[tuple[str, float]]] = {}
        for label, value in self.rows:
            months.setdefault(label[:7], []).append((label, value))
        fmt = self.unit_format
        caption = (
            f"{self.key}ごとの {len(self.rows):,} 件を月ごとにまとめた表 (グラフは{self.key}ごと)"
        )
        if self.by_month == "last":
            head = ["月", f"{self.what} (月の最後の観測)", "観測日"]
            body = [[m, fmt(days[-1][1]), days[-1][0]] for m, days in months.items()]
        else:
            head = ["月", f"{self.what} (月の合計)", "1 日平均", "日数"]
            body = [
                [m, fmt(sum(v for _, v in days)), fmt(sum(v for _, v in days) / len(days)),
                 str(len(days))]
                for m, days in months.items()
            ]  # fmt: skip
        return _table(caption, head, body)


def _table(caption: str | None, head: list[str], body: list[list[str]]) -> Markup:
    """A table of figures: the first cell of a row heads it, the others are numbers."""
    rows = "".join(
        f'<tr><th scope="row">{escape(first)}</th>'
        + "".join(f'<td class="num">{escape(cell)}</td>' for cell in rest)
        + "</tr>"
        for first, *rest in body
    )
    heads = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    top = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Markup(
        f'<table class="chart-data">{top}<thead><tr>{heads}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
