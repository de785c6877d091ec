"""ipywidgets views: a parameter form with inline validation, Plan and Apply buttons, progress and output."""

from __future__ import annotations

import typing
from typing import Any

import ipywidgets as w
from IPython.display import HTML, display

from xenbook.core.errors import ParameterError, XenbookError
from xenbook.engine.params import RunbookParams
from xenbook.engine.results import to_html
from xenbook.ui.notebook import HOST_FIELDS, SectionView, flat_params, section_model, section_params


def _kind(annotation) -> tuple[str, tuple]:
    """('bool'|'choice'|'int'|'list'|'text', choices) for a field's type."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "bool", ()
    if origin is typing.Literal:
        return "choice", typing.get_args(annotation)
    if args and typing.get_origin(args[0]) is typing.Literal:
        return "choice", ("",) + typing.get_args(args[0])
    if annotation is int or int in args:
        return "int", ()
    if origin is list:
        return "list", ()
    return "text", ()


def field_widget(name: str, annotation, value: Any, description: str) -> w.Widget:
    kind, choices = _kind(annotation)
    style = {"description_width": "150px"}
    layout = w.Layout(width="460px")
    if kind == "bool":
        widget = w.Checkbox(value=bool(value), description=name, style=style, indent=True)
    elif kind == "choice":
        widget = w.Dropdown(options=list(choices), value=value if value is not None else "", description=name,
                            style=style, layout=layout)
    elif kind == "list":
        widget = w.Text(value=" ".join(value or []), description=name, style=style, layout=layout)
    else:
        widget = w.Text(value="" if value is None else str(value), description=name, style=style, layout=layout)
    widget.tooltip = description
    widget.kind = kind
    return widget


def widget_value(widget: w.Widget) -> Any:
    value = widget.value
    if widget.kind == "list":
        return value.split()
    if widget.kind in ("text", "choice", "int") and value == "":
        return None
    if widget.kind == "int":
        try:
            return int(value)
        except ValueError:
            return value  # the model names the rule
    return value


class SectionForm:
    """A form for one section's parameters; each button has a parameter equivalent (dry_run)."""

    def __init__(self, view: SectionView):
        self.view = view
        section = view.section
        model = section_model(section)
        values = flat_params(section, view.params)
        fields = {k: RunbookParams.model_fields[k] for k in HOST_FIELDS if k != "dry_run"}
        if model:
            fields.update(model.model_fields)
        self.inputs = {name: field_widget(name, f.annotation, values[name], f.description or "")
                       for name, f in fields.items()}
        self.errors = {name: w.HTML() for name in self.inputs}
        for widget in self.inputs.values():
            widget.observe(lambda _change: self.validate(), names="value")
        self.plan_button = w.Button(description="Plan", icon="search", button_style="info")
        self.apply_button = w.Button(description="Apply", icon="check", button_style="warning")
        self.confirm = w.Checkbox(value=False, description="yes, change this host", indent=False)
        self.progress = w.IntProgress(min=0, max=1, value=0, description="steps")
        self.status = w.HTML()
        self.output = w.Output()
        self.plan_button.on_click(lambda _b: self.go(dry_run=True))
        self.apply_button.on_click(lambda _b: self.go(dry_run=False))
        rows = [w.HBox([self.inputs[n], self.errors[n]]) for n in self.inputs]
        buttons = w.HBox([self.plan_button, self.apply_button, self.confirm])
        self.widget = w.VBox(rows + [buttons, w.HBox([self.progress, self.status]), self.output])
        self.validate()

    def values(self) -> dict[str, Any]:
        out = {name: widget_value(widget) for name, widget in self.inputs.items()}
        out["dry_run"] = True
        return out

    def validate(self) -> SectionView | None:
        """A view for the current values, or None after showing each bad value next to its field."""
        for html in self.errors.values():
            html.value = ""
        try:
            params = section_params(self.view.section, self.values(), self.view.params)
        except ParameterError as e:
            for name, value, rule in e.problems:
                key = name.split(".")[-1]
                target = self.errors.get(key) or self.status
                target.value = f'<span style="color:#c62828">{rule}</span>'
            self.plan_button.disabled = self.apply_button.disabled = True
            return None
        self.plan_button.disabled = self.apply_button.disabled = False
        self.status.value = ""
        return SectionView(self.view.section, params, self.view.report_path)

    def go(self, *, dry_run: bool) -> None:
        view = self.validate()
        if view is None:
            return
        if not dry_run and not self.confirm.value:
            self.status.value = '<b style="color:#b26a00">tick "yes, change this host" first</b>'
            return
        total = len(view.steps())
        self.progress.max, self.progress.value = max(total, 1), 0
        self.status.value = "planning..." if dry_run else "applying..."

        def step_done(_result) -> None:
            self.progress.value += 1

        self.output.clear_output()
        with self.output:
            try:
                report = view.plan(progress=step_done, quiet=True) if dry_run else \
                    view.apply(progress=step_done, quiet=True)
            except XenbookError as e:
                self.status.value = f'<span style="color:#c62828">{e}</span>'
                return
            display(HTML(to_html(report)))
        self.status.value = report.summary()
        self.confirm.value = False
