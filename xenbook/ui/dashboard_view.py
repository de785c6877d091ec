"""The live dashboard: an ipywidgets view with Refresh, auto-refresh on a stoppable thread, the charts of
sections.manage.charts, and per-domain actions."""

from __future__ import annotations

import html
import threading
import time

from xenbook.connectors.targets import open_host
from xenbook.engine.runner import Runner
from xenbook.sections.manage.charts import cpu_chart, memory_chart, table_html
from xenbook.sections.manage.dashboard import Dashboard
from xenbook.sections.manage.steps import DomainAction, manage_steps


class DashboardView:
    """The live dashboard of the manage section's target; every control has a parameter of the section."""

    def __init__(self, view):
        from xenbook.ui.dashboard_widgets import build_widgets
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
        manage = self.view.params.manage.model_copy(update={"snapshot": False})
        manage = type(manage).model_validate(manage.model_dump() | values)
        with self.dashboard.lock:
            report = Runner(self.host, dry_run=False,
                            allow_unvalidated=self.view.params.allow_unvalidated).run([DomainAction(manage)])
        self.refresh()
        return report

    def run(self):
        """The manage section as the parameters say (plan or apply), its snapshot taken from this view's history."""
        params = self.view.params

        def shown(result) -> None:
            print(f"{result.status:>12}  {result.name}: {result.reason}", flush=True)

        with self.dashboard.lock:
            report = Runner(self.host, dry_run=params.dry_run, progress=shown,
                            allow_unvalidated=params.allow_unvalidated).run(
                manage_steps(params, self.host, dashboard=self.dashboard))
        if self.view.report_path:
            report.save(self.view.report_path)
        return report

    def close(self) -> None:
        self.stop()
        self.host.close()
