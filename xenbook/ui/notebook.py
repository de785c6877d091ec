"""What a section notebook calls: parameters in, a plan or an applied change out, shown as HTML."""

from __future__ import annotations

import os
from typing import Any

from xenbook.connectors.targets import open_host
from xenbook.core.errors import ParameterError
from xenbook.core.section import Section
from xenbook.engine import registry
from xenbook.engine.params import RunbookParams, build, load_file
from xenbook.engine.registry import run_sections
from xenbook.engine.results import Report, StepResult

HOST_FIELDS = ("target", "dry_run", "sudo", "ssh_config")


def section_params(section: Section, values: dict[str, Any], base: RunbookParams | None = None) -> RunbookParams:
    """RunbookParams for one section: base (the host's whole parameter set, so a section sees the others'
    parameters as `xenbook apply` does), then the flat notebook values; ParameterError names any bad one."""
    values = dict(values)
    data: dict[str, Any] = base.model_dump(exclude={"sections"}) if base is not None else {}
    data.update({k: values.pop(k) for k in HOST_FIELDS if k in values})
    data["sections"] = [section.name]
    if section.many:
        data[section.params_field] = [_one_item(section, values, data.get(section.params_field) or [])]
    elif section.params_field:
        data[section.params_field] = {**data.get(section.params_field, {}), **values}
    elif values:
        raise ParameterError([(k, v, "is not a parameter of this section") for k, v in values.items()])
    return build(RunbookParams, data)


def _one_item(section: Section, values: dict[str, Any], listed: list[dict[str, Any]]) -> dict[str, Any]:
    """The one item (a guest) a notebook of a many-section sets up: the listed one its name names, or the only one
    listed, with values over it; values alone when none is listed (or the name is a new one)."""
    if "name" in values:
        same = [item for item in listed if str(item.get("name", "")).lower() == str(values["name"]).lower()]
        return {**same[0], **values, "name": same[0]["name"]} if same else values  # the file's spelling
    if len(listed) == 1:
        return {**listed[0], **values}
    if listed:
        names = ", ".join(str(item.get("name")) for item in listed)
        raise ParameterError([("name", None, f"is not set, and the parameters file lists {len(listed)} "
                                             f"{section.params_field} ({names}): set name to the one to set up")])
    return values


def given(values: dict[str, Any]) -> dict[str, Any]:
    """The notebook values that were set: None leaves a value to the host's parameters file (or the model's
    default), so a value whose meaning is null itself (dom0_max_vcpus: all CPUs) is set to null only in the file."""
    return {k: v for k, v in values.items() if v is not None}


def host_file(params_file: str | None, values: dict[str, Any]) -> RunbookParams | None:
    """The host's parameter set from params_file (None without one). ParameterError when an apply (dry_run false)
    names its target neither in the notebook nor in the file, as `xenbook apply` refuses: an apply never falls back
    to the default target (the simulated sample host). A plan does."""
    data = load_file(params_file) if params_file else {}
    if values.get("target") is None and data.get("target") is None and values.get("dry_run", True) is False:
        where = f"the notebook nor in {params_file}" if params_file else "the notebook (and it reads no params_file)"
        raise ParameterError([("target", None, (
            f"is not named in {where}: an apply changes the host its target names and never falls back to the "
            "default (the simulated sample host); set target in the parameters cell (local, ssh:root@HOST, "
            "chroot:DIR or sample) or put target: in the parameters file"))])
    return build(RunbookParams, data) if params_file else None


def flat_params(section: Section, params: RunbookParams) -> dict[str, Any]:
    """The notebook parameters that reproduce params for section (the inverse of section_params)."""
    out: dict[str, Any] = {k: getattr(params, k) for k in HOST_FIELDS}
    if section.params_field:
        out.update(section_model_values(section, params))
    return out


def section_model(section: Section):
    """The pydantic model of one section's parameters (one guest's for the domu section)."""
    return section.params if section.params_field else None


def section_model_values(section: Section, params: RunbookParams) -> dict[str, Any]:
    value = getattr(params, section.params_field)
    if section.many:
        return (value[0] if value else section.params()).model_dump()
    return value.model_dump()


class SectionView:
    """One section bound to its parameters: plan, apply, or run as dry_run says; form() for people."""

    def __init__(self, section: Section, params: RunbookParams, report_path: str | None = None,
                 params_file: str | None = None):
        self.section = section
        self.params = params
        self.report_path = report_path
        self.params_file = params_file  # the host's parameters file the values came from (absolute), or None
        self.form_error: ParameterError | None = None  # the form's values are bad: nothing runs until fixed

    def _go(self, dry_run: bool, progress=None, quiet: bool = False, on_line=None, started=None) -> Report:
        if self.form_error is not None:
            raise self.form_error

        def shown(result: StepResult) -> None:
            if not quiet:
                print(f"{result.status:>12}  {result.name}: {result.reason}", flush=True)
            if progress:
                progress(result)

        def announce(step) -> None:
            if not quiet and not dry_run:  # an apply prints each step's header before its output
                print(f"{'running':>12}  {step.name}", flush=True)
            if started:
                started(step.name)

        with open_host(self.params.target, sudo=self.params.sudo, ssh_config=self.params.ssh_config) as host:
            printed = None if quiet else lambda line: print(f"              | {line}", flush=True)
            report = run_sections(host, self.params, [self.section.name], dry_run=dry_run, progress=shown,
                                  on_line=on_line or printed, on_start=announce)
        if self.report_path:
            report.save(self.report_path)
        return report

    def plan(self, **kw) -> Report:
        return self._go(True, **kw)

    def apply(self, **kw) -> Report:
        return self._go(False, **kw)

    def run(self) -> Report:
        """Plan when dry_run is true, else apply; the report displays as HTML."""
        return self._go(self.params.dry_run)

    def steps(self) -> list[str]:
        with open_host(self.params.target, sudo=self.params.sudo, ssh_config=self.params.ssh_config) as host:
            return [s.name for s in self.section.steps(self.params, host)]

    def form(self):
        """An ipywidgets form over the same parameters, with Plan and Apply buttons."""
        from xenbook.ui.widgets import SectionForm  # ipywidgets: only when a person asks for the form
        return SectionForm(self).widget


def section(section_name: str, /, *, report_path: str | None = None, params_file: str | None = None,
            **values: Any) -> SectionView:
    """The named section with the host's parameters file (when given; a relative path is from the notebook's
    folder) and the notebook's values over it: a value left None comes from the file, else the model's default,
    and the target from the file, else the sample host (never in an apply from a file that names none);
    ParameterError before any host is touched."""
    sec = registry.section(section_name)
    values = given(values)
    path = os.path.abspath(params_file) if params_file else None
    base = host_file(path, values)
    return SectionView(sec, section_params(sec, values, base), report_path, path)
