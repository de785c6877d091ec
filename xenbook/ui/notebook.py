"""What a section notebook calls: parameters in, a plan or an applied change out, shown as HTML."""

from __future__ import annotations

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
        data[section.params_field] = [values]  # a guest notebook sets up one guest
    elif section.params_field:
        data[section.params_field] = {**data.get(section.params_field, {}), **values}
    elif values:
        raise ParameterError([(k, v, "is not a parameter of this section") for k, v in values.items()])
    return build(RunbookParams, data)


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

    def __init__(self, section: Section, params: RunbookParams, report_path: str | None = None):
        self.section = section
        self.params = params
        self.report_path = report_path
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
    """The named section with the host's parameters file (when given) and the notebook's values over it;
    ParameterError before any host is touched."""
    sec = registry.section(section_name)
    base = build(RunbookParams, load_file(params_file)) if params_file else None
    return SectionView(sec, section_params(sec, values, base), report_path)
