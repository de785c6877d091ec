"""The parameters cell of a section's notebook, written from the parameter models: one typed line per parameter with
its help, so papermill's --help-notebook shows each one's type, and notebook and models agree. Every value but
dry_run is None in the cell, meaning "the host's parameters file's (params_file), else the model's default" (the
default is in the help); a value set in the cell overrides the file for that run.

`python -m xenbook.ui.paramcell` rewrites the notebooks' parameters cells; a test checks they are current."""

from __future__ import annotations

import json
import sys
import types
import typing
from typing import Any

from pydantic.fields import FieldInfo

from xenbook.core.section import Section
from xenbook.engine.params import RunbookParams
from xenbook.engine.registry import sections
from xenbook.ui.notebook import HOST_FIELDS, section_model

# what a notebook takes beyond the models: where it saves its report, and the host's whole parameters file
RUN_FIELDS = (("report_path", "\"Optional[str]\"", None, "also save the report as JSON at this path"),
              ("params_file", "\"Optional[str]\"", None,
               "the host's YAML parameters file (relative: to this notebook's folder); every value left None "
               "below comes from it"))
FROM_FILE = "None: the parameters file's"
HOST_HELP = {"target": f"{FROM_FILE}, else sample (never in an apply)", "sudo": f"{FROM_FILE}, else False",
             "ssh_config": FROM_FILE}


def type_name(annotation: Any) -> str:
    """The annotation as papermill reads it: a plain name, or a quoted Optional[...] (never evaluated)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = type_name(args[0]) if len(args) == 1 else "str"
        return f'"Optional[{inner.strip(chr(34))}]"'
    if origin is typing.Literal:
        return type(args[0]).__name__
    if origin is list:
        return f"list[{type_name(args[0])}]"
    return getattr(annotation, "__name__", "str")


def _value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _line(name: str, annotation: str, default: Any, help_text: str) -> str:
    if "=" in help_text or "\n" in help_text:  # papermill's reader takes one line with one '='
        raise ValueError(f"the help of {name} may hold no '=' and no newline: {help_text!r}")
    return f"{name}: {annotation} = {_value(default)}  # {help_text}"


def _field(name: str, info: FieldInfo) -> str:
    return _line(name, type_name(info.annotation), info.get_default(call_default_factory=True),
                 info.description or name)


def _optional(annotation: str) -> str:
    return annotation if annotation.startswith('"Optional[') else f'"Optional[{annotation}]"'


def _from_file(name: str, info: FieldInfo, help_text: str | None = None) -> str:
    """A line whose value is None, meaning the parameters file's value, else the default the help names."""
    default = info.get_default(call_default_factory=True)
    help_text = help_text or f"{info.description or name}{'' if default is None else f' (default {_value(default)})'}"
    return _line(name, _optional(type_name(info.annotation)), None, help_text)


def parameters_cell(section: Section) -> str:
    host = RunbookParams.model_fields
    lines = [_field(name, host[name]) if name == "dry_run" else
             _from_file(name, host[name], f"{host[name].description}; {HOST_HELP[name]}") for name in HOST_FIELDS]
    lines += [_line(*field) for field in RUN_FIELDS]
    model = section_model(section)
    lines += [_from_file(name, info) for name, info in (model.model_fields.items() if model else ())]
    return "\n".join(lines)


def main() -> int:
    """Rewrite each notebook's parameters cell; the notebook files otherwise keep their bytes."""
    for section in sections().values():
        path = section.notebook_path()
        raw = path.read_text()
        nb = json.loads(raw)
        cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
        text = parameters_cell(section)
        cell["source"] = [line + "\n" for line in text.split("\n")[:-1]] + [text.split("\n")[-1]]
        indent = 1 if raw.startswith('{\n "') else 2
        out = json.dumps(nb, indent=indent, ensure_ascii="\\u" in raw) + "\n"
        if out != raw:
            path.write_text(out)
            print(f"rewrote the parameters cell of {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
