"""The dashboard as pictures: CPU, memory, disk and network charts and the domains table (matplotlib PNG), and
the table as HTML; the manage section saves them for the host report."""

from __future__ import annotations

import datetime
import html
import io
import time

from xenbook.sections.manage.dashboard import COLUMNS, Dashboard

MAX_ROWS = 40  # rows of the table image and of the lines in a chart; the JSON snapshot keeps them all


def _figure(width: float = 8.0, height: float = 3.2):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), dpi=100)


def _png(fig, tight: bool = False) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None}, bbox_inches="tight" if tight else None)
    return out.getvalue()


def clock(t: float) -> datetime.datetime:
    """A sample's time as this machine's wall clock (naive local time, which the HH:MM:SS axis prints as it is)."""
    return datetime.datetime.fromtimestamp(t)


def clock_locator(span: float):
    """Ticks on whole seconds, minutes or hours, at most about six over span seconds, so no two read the same."""
    from matplotlib.dates import DayLocator, HourLocator, MinuteLocator, SecondLocator
    for step in (1, 2, 5, 10, 15, 30):
        if span / step <= 6:
            return SecondLocator(bysecond=range(0, 60, step))
    for step in (1, 2, 5, 10, 15, 30):
        if span / (step * 60) <= 6:
            return MinuteLocator(byminute=range(0, 60, step))
    for step in (1, 2, 3, 4, 6, 12):
        if span / (step * 3600) <= 6:
            return HourLocator(byhour=range(0, 24, step))
    return DayLocator(interval=max(1, int(span // (6 * 86400)) + 1))


def _time_axis(ax, dash: Dashboard) -> None:
    """Wall-clock time (HH:MM:SS), at least one refresh wide, so a single sample sits in the middle."""
    from matplotlib.dates import DateFormatter
    first = dash.samples[0].time if dash.samples else time.time()
    last = dash.samples[-1].time if dash.samples else first
    pad = max(last - first, dash.refresh_seconds) * 0.05 + (dash.refresh_seconds if last == first else 0)
    ax.set_xlim(clock(first - pad), clock(last + pad))
    ax.xaxis.set_major_locator(clock_locator(last - first + 2 * pad))
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S"))
    ax.set_xlabel(f"time ({time.strftime('%Z') or 'local'})")


def _busiest(dash: Dashboard, key: str) -> list[str]:
    last = dash.samples[-1] if dash.samples else None
    values = getattr(last, key) if last else {}
    return sorted(dash.names(), key=lambda n: -(values.get(n) or 0))[:MAX_ROWS // 4]


def _finish(fig, ax, title: str, unit: str, waiting: str | None) -> bytes:
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    if waiting:
        ax.text(0.5, 0.5, waiting, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="#555555",
                bbox={"boxstyle": "round", "facecolor": "#f5f5f5", "edgecolor": "#cccccc"})
    if ax.lines:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    return _png(fig)


def _collecting(count: int, needed: int) -> str | None:
    if count >= needed:
        return None
    return (f"collecting: {count} sample{'s' if count != 1 else ''}; a line needs {needed}, refresh again"
            if count else "no sample yet: refresh")


def chart_figure(dash: Dashboard, key: str, title: str, unit: str, host_free: bool = False):
    """Sample attribute key (name -> value) over the history for the busiest domains at the last sample; with
    host_free, the host's free memory as a dashed line. Returns (figure, axes, the waiting text or None)."""
    fig = _figure()
    ax = fig.add_subplot()
    for name in _busiest(dash, key):
        points = [(clock(s.time), getattr(s, key)[name]) for s in dash.samples if name in getattr(s, key)]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=4, label=name)
    free = [(clock(s.time), s.free_mib) for s in dash.samples if s.free_mib is not None] if host_free else []
    if free:
        ax.plot(*zip(*free), linestyle="--", marker="x", color="black", label="host free (xl info)")
    _time_axis(ax, dash)
    return fig, ax, _collecting(len(dash.samples), 2)


def _chart(dash: Dashboard, key: str, title: str, unit: str, host_free: bool = False) -> bytes:
    fig, ax, waiting = chart_figure(dash, key, title, unit, host_free)
    return _finish(fig, ax, title, unit, waiting)


def io_figure(dash: Dashboard, keys: tuple[str, str], labels: tuple[str, str]):
    """KiB/s of two IO counters (read and write, or received and sent) for the busiest domains: a solid and a
    dashed line in one colour per domain. Rates need two samples. Returns (figure, axes, the waiting text)."""
    fig = _figure()
    ax = fig.add_subplot()
    series = {n: [dash.series(k, n) for k in keys] for n in dash.names()}
    busiest = sorted(series, key=lambda n: -sum(p[-1][1] for p in series[n] if p))[:MAX_ROWS // 8]
    for i, name in enumerate(busiest):
        color = f"C{i % 10}"
        for points, label, style in zip(series[name], labels, ("-", "--")):
            if points:
                ax.plot([clock(t) for t, _ in points], [v for _, v in points], linestyle=style, marker="o",
                        markersize=4, color=color, label=f"{name} {label}")
    _time_axis(ax, dash)
    return fig, ax, _collecting(len(dash.samples), 2) or (None if ax.lines else "no disk or network to show")


def cpu_chart(dash: Dashboard) -> bytes:
    """CPU % per domain over the history (the ten busiest at the last sample)."""
    return _chart(dash, "cpu", "CPU per domain (xentop)", "CPU %")


def memory_chart(dash: Dashboard) -> bytes:
    """Memory per domain and the host's free memory over the history."""
    return _chart(dash, "memory", "Memory (MiB)", "MiB", host_free=True)


def disk_chart(dash: Dashboard) -> bytes:
    """Disk reads and writes per domain, KiB/s (xentop's VBD_RSECT and VBD_WSECT, 512-byte sectors)."""
    fig, ax, waiting = io_figure(dash, ("disk_read", "disk_write"), ("read", "write"))
    return _finish(fig, ax, "Disk I/O (xentop)", "KiB/s", waiting)


def network_chart(dash: Dashboard) -> bytes:
    """Network traffic per domain, KiB/s (xentop's NETRX(k) and NETTX(k))."""
    fig, ax, waiting = io_figure(dash, ("net_rx", "net_tx"), ("received", "sent"))
    return _finish(fig, ax, "Network I/O (xentop)", "KiB/s", waiting)


def table_chart(dash: Dashboard, stamp: str) -> bytes:
    """The domains table as a picture, for the host report (at most MAX_ROWS rows)."""
    rows = dash.rows()
    shown = rows[:MAX_ROWS] + ([[f"... {len(rows) - MAX_ROWS} more"] + [""] * (len(COLUMNS) - 1)]
                               if len(rows) > MAX_ROWS else [])
    fig = _figure(9.0, 0.6 + 0.25 * (len(shown) + 1))
    ax = fig.add_subplot()
    ax.axis("off")
    if shown:
        table = ax.table(cellText=shown, colLabels=list(COLUMNS), loc="upper center", cellLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(8)
    ax.set_title(f"Domains at {stamp} ({dash.source})", fontsize=9)
    return _png(fig, tight=True)


def table_html(dash: Dashboard) -> str:
    """The domains table as HTML (one row per domain, the COLUMNS)."""
    cell = "border:1px solid #ccc;padding:2px 8px"
    head = "".join(f'<th style="{cell}">{html.escape(c)}</th>' for c in COLUMNS)
    body = "".join("<tr>" + "".join(f'<td style="{cell}">{html.escape(v)}</td>' for v in row) + "</tr>"
                   for row in dash.rows())
    return (f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
            f"<small>read with {html.escape(dash.source)}</small>")


def snapshot_files(dash: Dashboard, stamp: str) -> dict[str, bytes]:
    """NAME.png with its caption NAME.txt for each picture, as the host report reads them."""
    out = {}
    for name, data, caption in (("1-domains", table_chart(dash, stamp), f"Domains at {stamp}"),
                                ("2-cpu", cpu_chart(dash), f"CPU per domain, {len(dash.samples)} samples to {stamp}"),
                                ("3-memory", memory_chart(dash), f"Memory and host free memory to {stamp}"),
                                ("4-disk", disk_chart(dash), f"Disk I/O per domain to {stamp}"),
                                ("5-network", network_chart(dash), f"Network I/O per domain to {stamp}")):
        out[f"{name}.png"], out[f"{name}.txt"] = data, (caption + "\n").encode()
    return out
