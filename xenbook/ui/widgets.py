"""The parameter form: a view of the notebook's parameters (the SectionView the next cell runs), validated inline,
with Plan and Apply as the CLI does them, live progress while they run, and the applied values saved to the host's
parameters file."""

from __future__ import annotations

import html
import os
import re
from typing import Any

import ipywidgets as w
from IPython.display import HTML, display

from xenbook.connectors.targets import open_host
from xenbook.core.errors import HostError, ParameterError, PreconditionFailed, XenbookError, shown
from xenbook.engine.params import RunbookParams
from xenbook.engine.params_file import save_section
from xenbook.engine.results import to_html
from xenbook.ui.form_fields import (field_widget, help_widget, layout, message, read_facts, rule_text,
                                    widget_value)
from xenbook.ui.form_progress import LiveProgress, clock
from xenbook.ui.notebook import HOST_FIELDS, SectionView, flat_params, section_model, section_params

_RED, _AMBER, _GREEN = "#c62828", "#b26a00", "#2e7d32"


def one_line(error: Exception) -> str:
    """An error as one line of text: each bad parameter as "parameter = value: rule", a host's error with its
    remedy; never a traceback."""
    if isinstance(error, ParameterError):
        return "; ".join(f"{name} = {shown(name, value)}: {rule_text(rule)}" for name, value, rule in error.problems)
    if isinstance(error, (HostError, PreconditionFailed)):
        text = error.message + (f" (what to do: {error.remedy})" if error.remedy else "")
    else:
        text = str(error) if isinstance(error, XenbookError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())


def _span(text: str, color: str, cls: str) -> str:
    return f'<span class="{cls}" style="color:{color}">{html.escape(text)}</span>'


class SectionForm:
    """A form over one SectionView's parameters: every valid change is the view's (the next cell runs what the form
    shows), a bad value names its rule beside its field and blocks the buttons, and a shown plan whose values have
    changed since is marked stale. A read-only section (preflight) has Plan only."""

    def __init__(self, view: SectionView):
        self.view = view
        section = view.section
        model = section_model(section)
        values = flat_params(section, view.params)
        self.dry_run = view.params.dry_run  # the notebook's: the next cell plans or applies as it says
        fields = {k: RunbookParams.model_fields[k] for k in HOST_FIELDS if k != "dry_run"}
        if model:
            fields.update(model.model_fields)
        self.layout = layout(model, list(fields))
        self.facts: dict[str, dict[str, Any]] = {}
        self.inputs = {name: field_widget(name, f.annotation, values[name], self.layout.label(name))
                       for name, f in fields.items()}
        self.inputs["target"].continuous_update = False  # a host is opened for its facts: not on every keystroke
        self.errors = {name: w.HTML() for name in self.inputs}
        self.rows = {name: w.VBox([w.HBox([self.inputs[name], self.errors[name]]),
                                   help_widget(name, fields[name].description or "")]) for name in self.inputs}
        for widget in self.inputs.values():
            widget.observe(lambda _change: self.validate(), names="value")
        self.groups = {title: w.VBox([w.HTML(f"<b>{html.escape(title)}</b>")] + [self.rows[n] for n in names])
                       for title, names in self.layout.groups.items()}
        self.plan_button = w.Button(description="Plan", icon="search", button_style="info")
        self.plan_button.on_click(lambda _b: self.go(dry_run=True))
        buttons: list[w.Widget] = [self.plan_button]
        self.apply_button: w.Button | None = None
        self.confirm: w.Checkbox | None = None
        if not section.read_only:
            self.apply_button = w.Button(description="Apply", icon="check", button_style="warning")
            self.confirm = w.Checkbox(value=False, description="yes, change this host", indent=False)
            self.apply_button.on_click(lambda _b: self.go(dry_run=False))
            buttons += [self.apply_button, self.confirm]
        else:
            buttons.append(w.HTML('<span style="color:#555">read-only: its checks change nothing on the host</span>'))
        self.status, self.saved, self.stale = w.HTML(), w.HTML(), w.HTML()
        self.status.add_class("xenbook-status")
        self.saved.add_class("xenbook-saved")
        self.stale.add_class("xenbook-stale")
        self.live = LiveProgress()
        self.output = w.Output()
        self.shown: RunbookParams | None = None  # the parameters of the plan or apply the output shows
        self.running = False
        self.widget = w.VBox(list(self.groups.values()) + [w.HBox(buttons), self.status, self.saved,
                                                          self.live.widget, self.stale, self.output])
        self.widget.add_class("xenbook-form")
        self._read_facts()
        self.validate()

    @property
    def buttons(self) -> list[w.Button]:
        return [b for b in (self.plan_button, self.apply_button) if b is not None]

    def values(self) -> dict[str, Any]:
        out = {name: widget_value(widget) for name, widget in self.inputs.items()}
        out["dry_run"] = self.dry_run
        return out

    def _read_facts(self) -> dict[str, Any]:
        """The host facts the layout's conditions ask for, read once per target ({} when it cannot be opened)."""
        names = self.layout.host_facts()
        target = self.inputs["target"].value
        if names and target not in self.facts:
            try:
                with open_host(target, sudo=self.view.params.sudo, ssh_config=self.view.params.ssh_config) as host:
                    self.facts[target] = read_facts(host, names)
            except Exception:  # noqa: BLE001  (a host that cannot be read leaves its fields shown; Plan says why)
                self.facts[target] = {}
        return self.facts.get(target, {})

    def _field_of(self, name: str, rule: str) -> str | None:
        """The form field a problem belongs to: its own name, or (a rule about several) the first field it names."""
        key = name.split(".")[-1]
        if key in self.inputs:
            return key
        named = [(m.start(), m.group(0)) for m in re.finditer(r"[a-z][a-z0-9_]*", rule) if m.group(0) in self.inputs]
        return min(named)[1] if named else None

    def validate(self) -> SectionView | None:
        """Make the form's values the view's, or show each bad value beside its field and return None."""
        for box in self.errors.values():
            box.value = ""
        values = self.values()
        bad: set[str] = set()
        try:
            params = section_params(self.view.section, values, self.view.params)
        except ParameterError as e:
            self.view.form_error = e
            unplaced = []
            for name, value, rule in e.problems:
                key = self._field_of(name, rule)
                if key is None:
                    unplaced.append(message(name, value, rule))
                    continue
                bad.add(key)
                self.errors[key].value = message(key, values[key], rule)
            if unplaced:  # else the last report's summary stays
                self.status.value = " ".join(unplaced)
            self._show_fields(values, bad)
            self._enable()
            return None
        self.view.form_error = None
        self.status.value = "" if self.status.value.startswith('<span class="xenbook-error"') else self.status.value
        if params != self.view.params:
            self.view.params = params  # the next cell (report = view.run()) runs what the form shows
        self._show_fields(values, bad)
        self._mark_stale()
        self._enable()
        return self.view

    def _show_fields(self, values: dict[str, Any], bad: set[str]) -> None:
        facts = self.facts.get(self.inputs["target"].value, {})
        for title, names in self.layout.groups.items():
            shown = [n for n in names if n in bad or self.layout.applies(n, values, facts)]
            for n in names:
                self.rows[n].layout.display = "" if n in shown else "none"
            self.groups[title].layout.display = "" if shown else "none"

    def _enable(self) -> None:
        blocked = self.running or self.view.form_error is not None
        for button in self.buttons:
            button.disabled = blocked
        for widget in self.inputs.values():
            widget.disabled = self.running
        if self.confirm is not None:
            self.confirm.disabled = self.running

    def _mark_stale(self) -> None:
        """Say so when the shown plan (or applied report) was made with other values than the form now holds."""
        if self.shown is None or self.shown == self.view.params:
            self.stale.value = ""
            return
        then, now = flat_params(self.view.section, self.shown), flat_params(self.view.section, self.view.params)
        changed = ", ".join(f"{k} was {then[k]!r}" for k in now if k != "dry_run" and then.get(k) != now[k])
        what = "plan" if self.shown.dry_run else "report"
        self.stale.value = _span(f"stale: this {what} is for earlier values ({changed}); press Plan again",
                                 _AMBER, "xenbook-stale-note")

    def go(self, *, dry_run: bool) -> None:
        """Plan or apply the form's values, showing progress; after a good apply, save them to the params file."""
        if self.running or self.validate() is None:
            return
        if not dry_run and (self.confirm is None or not self.confirm.value):
            self.status.value = _span('tick "yes, change this host" first', _AMBER, "xenbook-warning")
            return
        self.running = True
        self._enable()
        self.saved.value = self.stale.value = ""
        self.status.value = "planning..." if dry_run else "applying..."
        report = None
        try:
            self._read_facts()
            self.live.begin("planning" if dry_run else "applying", len(self.view.steps()))
            params = self.view.params
            go = self.view.plan if dry_run else self.view.apply
            report = go(progress=self.live.done, quiet=True, on_line=self.live.line, started=self.live.started)
        except Exception as e:  # noqa: BLE001  (one line in the form, never a traceback)
            self.status.value = _span(one_line(e), _RED, "xenbook-error")
        finally:
            took = self.live.end()
            self.running = False
            self._enable()
        if report is None:
            return
        self.live.step.value = f'<span style="color:#555">{"planned" if dry_run else "applied"} in {clock(took)}</span>'
        self.shown = params
        self.output.clear_output()
        with self.output:
            display(HTML(to_html(report)))
        self.status.value = html.escape(report.summary())
        self._mark_stale()
        if not dry_run:
            self.confirm.value = False
            if not report.failed:
                self._save(params)

    def _save(self, params: RunbookParams) -> None:
        """The applied section values into the host's parameters file, when the notebook has one."""
        path = getattr(self.view, "params_file", None)
        if not path:
            return
        try:
            saved = save_section(path, self.view.section, params)
        except (XenbookError, OSError) as e:
            self.saved.value = _span(f"not saved to {path}: {one_line(e)}", _RED, "xenbook-error")
            return
        name = os.path.basename(path)
        text = (f"saved {', '.join(f'{k} = {_yaml_text(v)}' for k, v in saved.items())} to {name}" if saved
                else f"{name} already holds these values")
        self.saved.value = _span(text, _GREEN, "xenbook-saved-note")


def _yaml_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
