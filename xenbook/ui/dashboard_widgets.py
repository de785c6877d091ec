"""The dashboard's ipywidgets: Refresh and auto-refresh, the guests table with each row's actions (as virt-manager's
context menu: start, shutdown, reboot, pause or resume, destroy with confirmation, console), the CPU, memory, disk
and network charts, the action row for every manage action, and a guest's console."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import ipywidgets as w
from IPython.display import HTML, display

from xenbook.core.errors import ParameterError, shown
from xenbook.engine.results import to_html
from xenbook.sections.manage.params import ACTIONS

MAX_ROW_WIDGETS = 60  # rows with buttons; a host with more guests shows the rest in the text table
CELL = "padding:1px 8px;white-space:nowrap"
STATE_COLOURS = {"running": "#2e7d32", "idle": "#2e7d32", "paused": "#ef6c00", "shut off": "#616161",
                 "shutting down": "#ef6c00", "crashed": "#c62828", "dying": "#c62828"}
ROW_ACTIONS = {"running": ("shutdown", "reboot", "pause", "destroy", "console"),
               "idle": ("shutdown", "reboot", "pause", "destroy", "console"),
               "paused": ("unpause", "destroy", "console"), "shut off": ("start",),
               "shutting down": ("destroy", "console"), "crashed": ("destroy",), "dying": ()}
LABELS = {"start": "Start", "shutdown": "Shut down", "reboot": "Reboot", "pause": "Pause", "unpause": "Resume",
          "destroy": "Force off", "console": "Console"}
_FIELDS = ("confirm", "domain", "cpus", "memory", "vcpu", "action")


def one_line(error: Exception) -> str:
    """An error as the view shows it: "parameter = value: rule" for each bad value (never pydantic's own text),
    else the message's first line."""
    if isinstance(error, ParameterError):
        parts = []
        for name, value, rule in error.problems:
            if isinstance(value, dict):  # a rule over several values: name the one it asks for
                key = next((k for k in _FIELDS if f"needs {k}" in rule or f"set {k}" in rule), None)
                name, value = (f"{name.rstrip('.')}.{key}" if key and not name.endswith(key) else name,
                               value.get(key, "") if key else "")
            parts.append(f"{name} = {shown(name, value)}: {rule}")
        return "; ".join(parts)
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _error(text: str) -> HTML:
    return HTML(f'<span style="color:#c62828">{html.escape(text)}</span>')


@dataclass
class DashboardWidgets:
    """The widgets of one DashboardView; show() puts new data in them."""

    view: object
    box: w.VBox
    status: w.HTML
    rows: w.VBox
    note: w.HTML
    table: w.HTML
    cpu: w.Image
    memory: w.Image
    disk: w.Image
    network: w.Image
    domain: w.Dropdown
    out: w.Output
    console: w.VBox
    shown: list = field(default_factory=list)

    def show(self, domains: list[dict], table: str, charts: dict[str, bytes], status: str, note: str = "") -> None:
        """New data: the charts, the table, and the rows of buttons when a row's name or state changed."""
        self.table.value = table
        for key, image in (("cpu", self.cpu), ("memory", self.memory), ("disk", self.disk),
                           ("network", self.network)):
            image.value = charts[key]
        self.status.value = html.escape(status)
        self.note.value = note
        rows = [[d["name"], d["state_word"], d["cells"]] for d in domains[:MAX_ROW_WIDGETS]]
        if rows != self.shown:
            self.shown = rows
            self.rows.children = [self._header()] + [self._row(d) for d in domains[:MAX_ROW_WIDGETS]]
        names = [d["name"] for d in domains]
        if names and list(self.domain.options) != names:
            chosen = self.domain.value
            self.domain.options = names
            self.domain.value = chosen if chosen in names else names[0]

    def _header(self) -> w.HBox:
        return w.HBox([w.HTML(f'<b style="{CELL}">{html.escape(h)}</b>', layout=w.Layout(width=width, flex="0 0 auto"))
                       for h, width in HEAD])

    def _row(self, d: dict) -> w.HBox:
        cells = [w.HTML(f'<span style="{CELL}">{html.escape(v)}</span>', layout=w.Layout(width=width, flex="0 0 auto"))
                 for v, (_h, width) in zip(d["cells"], HEAD)]
        colour = STATE_COLOURS.get(d["state_word"], "#000")
        cells[2].value = f'<b style="{CELL};color:{colour}">{html.escape(d["state_word"])}</b>'
        actions = () if d["domid"] == 0 else ROW_ACTIONS.get(d["state_word"], ())
        buttons = []
        for action in actions:
            b = w.Button(description=LABELS[action], tooltip=f"{action} {d['name']}",
                         button_style="danger" if action == "destroy" else "",
                         layout=w.Layout(width="max-content", min_width="max-content", height="26px"))
            b.on_click(lambda _b, a=action, n=d["name"]: self.row_action(a, n))
            buttons.append(b)
        return w.HBox(cells + [w.HBox(buttons, layout=w.Layout(flex="0 0 auto"))],
                      layout=w.Layout(align_items="center"))

    def row_action(self, action: str, name: str) -> None:
        """A row's button: the console opens below; destroy asks first; the rest run the manage step at once."""
        if action == "console":
            self.open_console(name)
            return
        if action == "destroy":
            self.out.clear_output()
            yes = w.Button(description=f"Force off {name}", button_style="danger")
            no = w.Button(description="Cancel")
            yes.on_click(lambda _b: self.run(action="destroy", domain=name, confirm=name))
            no.on_click(lambda _b: self.out.clear_output())
            with self.out:
                display(w.VBox([w.HTML(f"<b>Force off {html.escape(name)}?</b> xl destroy pulls the plug: the guest "
                                       "gets no clean shutdown and unsaved data is lost."), w.HBox([yes, no])]))
            return
        self.run(action=action, domain=name)

    def run(self, **values) -> None:
        """One manage action through the view (the section's DomainAction step), its report or one error line."""
        self.out.clear_output()
        with self.out:
            try:
                report = self.view.act(**values)
            except Exception as e:  # noqa: BLE001 (shown next to the buttons, one line)
                display(_error(one_line(e)))
                return
            display(HTML(to_html(report)))

    def open_console(self, name: str) -> None:
        """xl console NAME below the table (one at a time): its screen, an input line, Enter, Ctrl+C, Ctrl+]."""
        self.view.close_console()
        screen = w.HTML(layout=w.Layout(border="1px solid #ccc", max_height="320px", overflow="auto"))
        typed = w.Text(placeholder="type a line, Enter sends it", continuous_update=False,
                       layout=w.Layout(width="420px"))
        enter, ctrl_c = w.Button(description="Enter"), w.Button(description="Ctrl+C")
        leave = w.Button(description="Ctrl+] (leave)", button_style="warning")
        state = w.HTML()

        def shown(text: str) -> None:
            screen.value = (f'<pre class="xenbook-console" style="margin:0;padding:4px;background:#111;color:#eee;'
                            f'min-height:8em">{html.escape(text)}</pre>')

        def ended(status: int) -> None:
            state.value = html.escape(f"xl console {name} ended (exit {status})")

        try:
            console = self.view.open_console(name, shown, ended)
        except Exception as e:  # noqa: BLE001 (a target without a terminal, ssh missing: one line)
            self.console.children = [_error(f"console of {name}: {one_line(e)}")]
            return

        def typed_line(change) -> None:
            if change["new"]:
                console.send(change["new"] + "\r")
                typed.value = ""

        typed.observe(typed_line, names="value")
        enter.on_click(lambda _b: console.send("\r"))
        ctrl_c.on_click(lambda _b: console.send("\x03"))
        leave.on_click(lambda _b: self.view.close_console())
        shown("")
        self.console.children = [
            w.HTML(f"<b>Console of {html.escape(name)}</b>: <code>{html.escape(' '.join(console.argv[-3:]))}"
                   "</code> on a terminal; <code>Ctrl+]</code> leaves it (the button sends it)."),
            screen, w.HBox([typed, enter, ctrl_c, leave]), state]


HEAD = (("name", "130px"), ("id", "40px"), ("state", "105px"), ("memory (MiB)", "115px"), ("vCPUs", "60px"),
        ("uptime", "110px"), ("type", "50px"), ("CPU %", "60px"), ("disk KiB/s", "95px"), ("net KiB/s", "95px"))


def build_widgets(view) -> DashboardWidgets:
    """The controls, wired to view.refresh, view.start/stop, view.act and view.open_console."""
    m = view.view.params.manage
    refresh = w.Button(description="Refresh", icon="refresh")
    auto = w.ToggleButton(value=False, description=f"auto every {m.refresh_seconds:g} s", icon="play")
    images = [w.Image(format="png", layout=w.Layout(width="50%", height="auto")) for _ in range(4)]
    domain = w.Dropdown(options=[m.domain] if m.domain else [], value=m.domain or None, description="domain")
    action = w.Dropdown(options=list(ACTIONS), value=m.action or "start", description="action")
    vcpu = w.Text(value=m.vcpu, description="vcpu", layout=w.Layout(width="160px"))
    cpus = w.Text(value=m.cpus, description="cpus", placeholder="2-3", layout=w.Layout(width="160px"))
    memory_to = w.Text(value=m.memory, description="memory", placeholder="768M", layout=w.Layout(width="180px"))
    confirm = w.Text(value="", description="confirm", placeholder="destroy: the domain's name")
    run = w.Button(description="Run action", icon="bolt", button_style="warning")
    table = w.HTML()
    ui = DashboardWidgets(view, w.VBox(), w.HTML(), w.VBox(), w.HTML(), table, *images, domain, w.Output(),
                          w.VBox())

    def toggled(change) -> None:
        (view.start if change["new"] else view.stop)()
        auto.icon = "pause" if change["new"] else "play"

    def act(_button) -> None:
        ui.run(action=action.value, domain=domain.value or "", confirm=confirm.value, vcpu=vcpu.value or "all",
               cpus=cpus.value, memory=memory_to.value)
        confirm.value = ""

    refresh.on_click(lambda _b: view.refresh())
    auto.observe(toggled, names="value")
    run.on_click(act)
    more = w.VBox([w.HTML("<b>Every action</b> (also vcpu-pin, mem-set, autostart on and off):"),
                   w.HBox([domain, action, run]), w.HBox([vcpu, cpus, memory_to, confirm])])
    ui.box.children = [w.HBox([refresh, auto, ui.status]), ui.rows, ui.note, ui.out, ui.console,
                       w.HBox(images[:2]), w.HBox(images[2:]), more]
    return ui
