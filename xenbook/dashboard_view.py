"""The dashboard as pictures and widgets: CPU and memory charts (matplotlib PNG), the domains table, a live
ipywidgets view with Refresh, auto-refresh on a stoppable thread, and per-domain actions."""

from __future__ import annotations

import html
import io
import threading
import time

from .dashboard import COLUMNS, Dashboard

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


class DashboardView:
    """The live dashboard of the manage section's target; every control has a parameter of the section."""

    def __init__(self, view):
        from .targets import open_host
        from .widgets_dashboard import build_widgets
        self.view, p = view, view.params
        self.host = open_host(p.target, sudo=p.sudo, ssh_config=p.ssh_config)
        self.dashboard = Dashboard(self.host, p.manage.refresh_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ui = build_widgets(self)
        self.widget = self.ui.box
        self.refresh()

    def refresh(self) -> None:
        """Read the host once more and redraw the table and both charts."""
        try:
            self.dashboard.refresh()
        except Exception as e:  # noqa: BLE001 (shown in the view; the next refresh tries again)
            self.ui.status.value = f'<span style="color:#c62828">{html.escape(str(e))}</span>'
            return
        running = [d["name"] for d in self.dashboard.domains]
        configs = [n[:-4] for n in self.host.listdir("/etc/xen") or [] if n.endswith(".cfg")]
        self.ui.show(table_html(self.dashboard), cpu_chart(self.dashboard), memory_chart(self.dashboard),
                     f"{len(self.dashboard.samples)} samples, last at {time.strftime('%H:%M:%S')}",
                     running + [n for n in sorted(configs) if n not in running])

    def start(self) -> None:
        """Refresh every refresh_seconds on a background thread until stop()."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self.dashboard.refresh_seconds):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="xenbook-dashboard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.dashboard.refresh_seconds + 30)

    def snapshot(self) -> None:
        """Collect the section's samples, then show the table and both charts as HTML and PNG (unattended runs)."""
        from IPython.display import HTML, Image, display
        try:
            self.dashboard.collect(self.view.params.manage.samples)
        except Exception as e:  # noqa: BLE001 (the section's ToolstackAnswers step fails with what to do)
            display(HTML(f'<b style="color:#c62828">no snapshot: {html.escape(str(e))}</b>'))
            return
        display(HTML(table_html(self.dashboard)))
        display(Image(data=cpu_chart(self.dashboard), format="png"))
        display(Image(data=memory_chart(self.dashboard), format="png"))

    def act(self, **values):
        """Run one domain action (values: action, domain, confirm, vcpu, cpus, memory) now, then refresh."""
        from .runner import Runner
        from .steps.manage import DomainAction
        manage = self.view.params.manage.model_copy(update={"snapshot": False})
        manage = type(manage).model_validate(manage.model_dump() | values)
        with self.dashboard.lock:
            report = Runner(self.host, dry_run=False).run([DomainAction(manage)])
        self.refresh()
        return report

    def run(self):
        """The manage section as the parameters say (plan or apply), its snapshot taken from this view's history."""
        from .runner import Runner
        from .steps.manage import manage_steps
        params = self.view.params

        def shown(result) -> None:
            print(f"{result.status:>12}  {result.name}: {result.reason}", flush=True)

        with self.dashboard.lock:
            report = Runner(self.host, dry_run=params.dry_run, progress=shown).run(
                manage_steps(params, self.host, dashboard=self.dashboard))
        if self.view.report_path:
            report.save(self.view.report_path)
        return report

    def close(self) -> None:
        self.stop()
        self.host.close()
