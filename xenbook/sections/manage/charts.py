"""The dashboard as pictures: CPU and memory charts and the domains table (matplotlib PNG), and the table as HTML;
the manage section saves them for the host report."""

from __future__ import annotations

import html
import io

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


def _time_axis(ax, dash: Dashboard) -> None:
    """Seconds since the first sample, at least one refresh wide (a single sample sits at 0)."""
    span = dash.samples[-1].time - dash.samples[0].time if dash.samples else 0.0
    ax.set_xlim(-0.05 * max(span, dash.refresh_seconds), max(span, dash.refresh_seconds) * 1.05)
    ax.set_xlabel("seconds since the first sample")


def _busiest(dash: Dashboard, key: str) -> list[str]:
    last = dash.samples[-1] if dash.samples else None
    values = getattr(last, key) if last else {}
    return sorted(dash.names(), key=lambda n: -(values.get(n) or 0))[:MAX_ROWS // 4]


def _chart(dash: Dashboard, key: str, title: str, unit: str, host_free: bool = False) -> bytes:
    """Sample attribute key (name -> value) over the history for the busiest domains at the last sample; with
    host_free, the host's free memory as a dashed line."""
    fig = _figure()
    ax = fig.add_subplot()
    start = dash.samples[0].time if dash.samples else 0.0
    for name in _busiest(dash, key):
        points = [(s.time - start, getattr(s, key)[name]) for s in dash.samples if name in getattr(s, key)]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=3, label=name)
    free = [(s.time - start, s.free_mib) for s in dash.samples if s.free_mib is not None] if host_free else []
    if free:
        ax.plot(*zip(*free), linestyle="--", marker="x", color="black", label="host free (xl info)")
    ax.set_title(title)
    _time_axis(ax, dash)
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _png(fig)


def cpu_chart(dash: Dashboard) -> bytes:
    """CPU % per domain over the history (the ten busiest at the last sample)."""
    return _chart(dash, "cpu", "CPU per domain (xentop)", "CPU %")


def memory_chart(dash: Dashboard) -> bytes:
    """Memory per domain and the host's free memory over the history."""
    return _chart(dash, "memory", "Memory (MiB)", "MiB", host_free=True)


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
                                ("3-memory", memory_chart(dash), f"Memory and host free memory to {stamp}")):
        out[f"{name}.png"], out[f"{name}.txt"] = data, (caption + "\n").encode()
    return out
