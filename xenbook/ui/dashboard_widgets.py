"""The dashboard's ipywidgets: Refresh, an auto-refresh toggle, the table and charts, and a per-domain action row."""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as w
from IPython.display import HTML, display

from xenbook.engine.results import to_html
from xenbook.sections.manage.params import ACTIONS

CONSOLE_HINT = ("Console: <code>xl console NAME</code> in a terminal on dom0 (JupyterLab: File, New, Terminal); "
                "<code>Ctrl+]</code> leaves it.")


@dataclass
class DashboardWidgets:
    """The widgets of one DashboardView; show() puts new data in them."""

    box: w.VBox
    status: w.HTML
    table: w.HTML
    cpu: w.Image
    memory: w.Image
    domain: w.Dropdown

    def show(self, table: str, cpu: bytes, memory: bytes, status: str, names: list[str]) -> None:
        self.table.value, self.cpu.value, self.memory.value = table, cpu, memory
        self.status.value = html.escape(status)
        if names and list(self.domain.options) != names:
            chosen = self.domain.value
            self.domain.options = names
            self.domain.value = chosen if chosen in names else names[0]


def build_widgets(view) -> DashboardWidgets:
    """The controls, wired to view.refresh, view.start/stop and view.act."""
    m = view.view.params.manage
    refresh = w.Button(description="Refresh", icon="refresh")
    auto = w.ToggleButton(value=False, description=f"auto every {m.refresh_seconds:g} s", icon="play")
    status, table = w.HTML(), w.HTML()
    cpu, memory = (w.Image(format="png", layout=w.Layout(width="50%", height="auto")) for _ in range(2))
    domain = w.Dropdown(options=[m.domain] if m.domain else [], value=m.domain or None, description="domain")
    action = w.Dropdown(options=list(ACTIONS), value=m.action or "start", description="action")
    vcpu = w.Text(value=m.vcpu, description="vcpu", layout=w.Layout(width="160px"))
    cpus = w.Text(value=m.cpus, description="cpus", placeholder="2-3", layout=w.Layout(width="160px"))
    memory_to = w.Text(value=m.memory, description="memory", placeholder="768M", layout=w.Layout(width="180px"))
    confirm = w.Text(value="", description="confirm", placeholder="destroy: the domain's name")
    run = w.Button(description="Run action", icon="bolt", button_style="warning")
    out = w.Output()
    ui = DashboardWidgets(w.VBox(), status, table, cpu, memory, domain)

    def toggled(change) -> None:
        (view.start if change["new"] else view.stop)()
        auto.icon = "pause" if change["new"] else "play"

    def act(_button) -> None:
        out.clear_output()
        with out:
            try:
                report = view.act(action=action.value, domain=domain.value or "", confirm=confirm.value,
                                  vcpu=vcpu.value or "all", cpus=cpus.value, memory=memory_to.value)
            except Exception as e:  # noqa: BLE001 (a bad value is shown next to the buttons)
                display(HTML(f'<span style="color:#c62828">{html.escape(str(e))}</span>'))
                return
            display(HTML(to_html(report)))
        confirm.value = ""

    refresh.on_click(lambda _b: view.refresh())
    auto.observe(toggled, names="value")
    run.on_click(act)
    ui.box.children = [w.HBox([refresh, auto, status]), table, w.HBox([cpu, memory]),
                       w.HBox([domain, action, run]), w.HBox([vcpu, cpus, memory_to, confirm]), out,
                       w.HTML(CONSOLE_HINT)]
    return ui
