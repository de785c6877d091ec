"""The live dashboard: an ipywidgets view with Refresh, auto-refresh on a stoppable thread, every defined guest
(running or shut off) with its actions, the charts of sections.manage.charts, and a guest's console."""

from __future__ import annotations

import html
import threading
import time

from xenbook.connectors.targets import open_host
from xenbook.core.model import build
from xenbook.engine.runner import Runner
from xenbook.facts.domains import user_state
from xenbook.sections.manage.charts import cpu_chart, disk_chart, memory_chart, network_chart, table_html
from xenbook.sections.manage.dashboard import Dashboard
from xenbook.sections.manage.params import ManageParams
from xenbook.sections.manage.steps import DomainAction, manage_steps
from xenbook.ui.dashboard_console import Console


class DashboardView:
    """The live dashboard of the manage section's target; every control has a parameter of the section."""

    def __init__(self, view):
        from xenbook.ui.dashboard_widgets import build_widgets
        self.view, p = view, view.params
        self.host = open_host(p.target, sudo=p.sudo, ssh_config=p.ssh_config)
        self.dashboard = Dashboard(self.host, p.manage.refresh_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.console: Console | None = None
        self.ui = build_widgets(self)
        self.widget = self.ui.box
        self.refresh()

    def refresh(self) -> None:
        """Read the host once more and redraw the guests, their actions and the charts."""
        try:
            self.dashboard.refresh()
        except Exception as e:  # noqa: BLE001 (shown in the view; the next refresh tries again)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            self.ui.status.value = f'<span style="color:#c62828">{html.escape(first)}</span>'
            return
        dash = self.dashboard
        rows = []
        for d, cells in zip(dash.domains, dash.rows()):
            rates = d.get("rates") or {}
            disk = [rates.get(k) for k in ("disk_read", "disk_write")]
            net = [rates.get(k) for k in ("net_rx", "net_tx")]
            io = [f"{a or 0:.0f} / {b or 0:.0f}" if a is not None or b is not None else "" for a, b in (disk, net)]
            rows.append({"name": d["name"], "domid": d["domid"], "state_word": user_state(d["state"]),
                         "cells": cells[:8] + io})
        skipped = dash.skipped
        note = ("<small>Not guests (no xl.cfg(5) domain): " + "; ".join(
            html.escape(f"{path}: {why}") for path, why in skipped) + "</small>") if skipped else ""
        count = len(dash.samples)
        self.ui.show(rows, table_html(dash), {"cpu": cpu_chart(dash), "memory": memory_chart(dash),
                                              "disk": disk_chart(dash), "network": network_chart(dash)},
                     f"{count} sample{'s' if count != 1 else ''}, last at {time.strftime('%H:%M:%S')}; disk and "
                     "net: read / write and received / sent", note)

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
        for chart in (cpu_chart, memory_chart, disk_chart, network_chart):
            display(Image(data=chart(self.dashboard), format="png"))

    def act(self, **values):
        """Run one domain action (values: action, domain, confirm, vcpu, cpus, memory) now, then refresh."""
        manage = self.view.params.manage.model_dump() | {"snapshot": False} | values
        manage = build(ManageParams, manage, prefix="manage.")  # ParameterError: "manage.X = value: rule"
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

    def open_console(self, name: str, on_change, on_exit) -> Console:
        """`xl console NAME` on a terminal of the target (closing the one open before)."""
        self.close_console()
        self.console = Console(self.host, name, on_change, on_exit)
        return self.console

    def close_console(self) -> None:
        if self.console is not None:
            self.console.close()
            self.console = None

    def close(self) -> None:
        self.stop()
        self.close_console()
        self.host.close()
