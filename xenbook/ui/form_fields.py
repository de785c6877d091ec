"""The fields of a section's form: a widget per parameter with its label and help, the groups they are shown in,
when each applies (declared as data beside each parameters model, in its module's FORM), and one-line messages."""

from __future__ import annotations

import html
import re
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

import ipywidgets as w

from xenbook.core.errors import shown
from xenbook.core.host import Host
from xenbook.core.model import rule_text
from xenbook.facts import boot as bootfacts

# The host's fields, as every section's form shows them first (HostParams is the engine's; its form is the view's).
HOST_FORM: dict[str, Any] = {
    "groups": {"Target": ["target", "sudo", "ssh_config"]},
    "labels": {"target": "target host", "sudo": "through sudo", "ssh_config": "ssh_config file"},
    "shown_when": {"sudo": [{"target": {"prefix": ["local", "ssh:"]}}],
                   "ssh_config": [{"target": {"prefix": ["ssh:"]}}]},
}

# What a condition may ask of the host ("host:NAME" in shown_when): read once, when a form is made.
HOST_FACTS: dict[str, Callable[[Host], Any]] = {
    "boot_mode": bootfacts.boot_mode,  # uefi or bios
    "boot_loader": bootfacts.boot_loader,  # grub2, grub-legacy, systemd-boot, syslinux, or None
}

def message(label: str, value: Any, rule: str) -> str:
    """One line: "parameter = value: rule", as HTML (the value and the rule escaped)."""
    text = "empty" if value in (None, "", []) else shown(label, value)  # a secret's value masked
    return (f'<span class="xenbook-error" style="color:#c62828">{html.escape(label)} = {html.escape(text)}: '
            f'{html.escape(rule_text(rule))}</span>')


@dataclass
class Layout:
    """One form's groups (title -> field names, in order), labels and conditions (field -> clauses, any may hold)."""

    groups: dict[str, list[str]]
    labels: dict[str, str] = field(default_factory=dict)
    shown_when: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def label(self, name: str) -> str:
        return self.labels.get(name, name.replace("_", " "))

    def host_facts(self) -> set[str]:
        return {key.removeprefix("host:") for clauses in self.shown_when.values() for clause in clauses
                for key in clause if key.startswith("host:")}

    def applies(self, name: str, values: dict[str, Any], facts: dict[str, Any]) -> bool:
        """Whether the field applies to these values and this host: no condition, or any of its clauses holds."""
        clauses = self.shown_when.get(name)
        return not clauses or any(_holds(clause, values, facts) for clause in clauses)


def _holds(clause: dict[str, Any], values: dict[str, Any], facts: dict[str, Any]) -> bool:
    for key, test in clause.items():
        if key.startswith("host:"):
            value = facts.get(key.removeprefix("host:"), _UNKNOWN)
            if value is _UNKNOWN:
                continue  # a fact not read (the host could not be opened): the field stays shown
        else:
            value = values.get(key)
        if not _test(test, value):
            return False
    return True


_UNKNOWN = object()


def _test(test: Any, value: Any) -> bool:
    """A condition on one value: a list of the values it may have, or {"has": item} (an item of a comma list),
    {"prefix": [...]}, {"not": [...]}, {"set": True} (not empty)."""
    if isinstance(test, list):
        return value in test
    if "has" in test:
        return any(item.startswith(test["has"]) for item in str(value or "").split(","))
    if "prefix" in test:
        return any(str(value or "").startswith(p) for p in test["prefix"])
    if "not" in test:
        return value not in test["not"]
    if "set" in test:
        return (value not in (None, "", [], False)) == test["set"]
    raise ValueError(f"unknown condition {test!r}")


def layout(model: type | None, names: list[str]) -> Layout:
    """The host's fields, then the model's groups from the FORM beside it; fields no group names form 'More'."""
    groups = {k: list(v) for k, v in HOST_FORM["groups"].items()}
    labels, shown_when = dict(HOST_FORM["labels"]), dict(HOST_FORM["shown_when"])
    form = getattr(sys.modules[model.__module__], "FORM", {}) if model is not None else {}
    for title, fields in form.get("groups", {}).items():
        groups.setdefault(title, []).extend(fields)
    labels.update(form.get("labels", {}))
    shown_when.update(form.get("shown_when", {}))
    placed = {n for fields in groups.values() for n in fields}
    rest = [n for n in names if n not in placed]
    if rest:
        groups.setdefault("Parameters" if not form else "More", []).extend(rest)
    groups = {title: [n for n in fields if n in names] for title, fields in groups.items()}
    return Layout({t: f for t, f in groups.items() if f}, labels, shown_when)


def read_facts(host: Host, names: set[str]) -> dict[str, Any]:
    return {name: HOST_FACTS[name](host) for name in sorted(names) if name in HOST_FACTS}


def kind(annotation) -> tuple[str, tuple]:
    """('bool'|'choice'|'int'|'float'|'list'|'text', choices) for a field's type."""
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
    if annotation is float or float in args:
        return "float", ()
    if origin is list:
        return "list", ()
    return "text", ()


STYLE = {"description_width": "170px"}


def field_widget(name: str, annotation, value: Any, label: str) -> w.Widget:
    """The input for one parameter, labelled for people; .name is the parameter's, .kind how its value reads."""
    what, choices = kind(annotation)
    layout_ = w.Layout(width="480px")
    if what == "bool":
        widget = w.Checkbox(value=bool(value), description=label, style=STYLE, indent=True, layout=layout_)
    elif what == "choice":
        widget = w.Dropdown(options=list(choices), value=value if value is not None else "", description=label,
                            style=STYLE, layout=layout_)
    elif what == "list":
        widget = w.Text(value=" ".join(value or []), description=label, style=STYLE, layout=layout_)
    else:
        widget = w.Text(value="" if value is None else str(value), description=label, style=STYLE, layout=layout_)
    widget.name, widget.kind = name, what
    widget.add_class("xenbook-field")
    return widget


def help_widget(name: str, description: str) -> w.HTML:
    """The help under a field: the parameter's name (as the parameters cell and the YAML file spell it) and what
    its model says of it."""
    text = f"<code>{html.escape(name)}</code>" + (f": {html.escape(description)}" if description else "")
    return w.HTML(f'<div class="xenbook-help" style="color:#555;font-size:90%;margin-left:176px;'
                  f'line-height:1.3">{text}</div>')


def widget_value(widget: w.Widget) -> Any:
    value = widget.value
    if widget.kind == "list":
        return value.split()
    if widget.kind in ("text", "choice", "int", "float") and value.strip() == "":
        return None
    if widget.kind in ("int", "float"):
        try:
            return (int if widget.kind == "int" else float)(value)
        except ValueError:
            return value  # the model names the rule
    return value
