"""The runbook's sections in runbook order, found rather than listed: each package in xenbook/sections/ and each
section another package registers under the "xenbook.sections" entry points; and running their steps."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Callable

from xenbook.core.errors import XenbookError
from xenbook.core.host import Host
from xenbook.core.section import Section
from xenbook.core.step import Step
from xenbook.engine.results import Report
from xenbook.engine.runner import Progress, Runner, Started

if TYPE_CHECKING:  # the parameter set is built from the sections found here
    from xenbook.engine.params import RunbookParams

BUILTIN = "xenbook.sections"  # a package per section, each with SECTION in its __init__
GROUP = "xenbook.sections"  # entry points naming other packages' Section objects


def _builtin() -> list[Section]:
    spec = importlib.util.find_spec(BUILTIN)
    names = sorted(m.name for m in pkgutil.iter_modules(spec.submodule_search_locations) if m.ispkg)
    return [importlib.import_module(f"{BUILTIN}.{name}").SECTION for name in names]


@functools.cache
def sections() -> dict[str, Section]:
    """Every section, by name, in runbook order; XenbookError when two clash."""
    found = _builtin() + [ep.load() for ep in entry_points(group=GROUP)]
    for section in found:
        if not isinstance(section, Section):
            raise XenbookError(f"a section registered under {GROUP} is not a Section: {section!r}")
    for key in ("name", "order", "notebook", "params_field"):
        values = [getattr(s, key) for s in found if getattr(s, key) is not None]
        twice = sorted({str(v) for v in values if values.count(v) > 1})
        if twice:
            raise XenbookError(f"two sections share the {key} {', '.join(twice)}; each section needs its own")
    return {s.name: s for s in sorted(found, key=lambda s: s.order)}


def section(name: str) -> Section:
    return sections()[name]


def available(names: list[str] | None) -> list[Section]:
    """The sections named (all when None), in runbook order."""
    wanted = set(names or sections())
    return [s for s in sections().values() if s.name in wanted]


def check_sections(host: Host, params: RunbookParams, names: list[str] | None = None) -> None:
    """ParameterError, before any step runs, when the named sections' values do not fit this host."""
    for s in available(names or params.sections):
        if s.check:
            s.check(params, host)


def section_steps(host: Host, params: RunbookParams, names: list[str] | None = None) -> list[Step]:
    """The steps of the named sections for this host, in order (after check_sections)."""
    check_sections(host, params, names)
    return [step for s in available(names or params.sections) for step in s.steps(params, host)]


def run_sections(host: Host, params: RunbookParams, names: list[str] | None = None, *,
                 dry_run: bool | None = None, progress: Progress | None = None,
                 on_line: Callable[[str], None] | None = None, wait: float = 0.0,
                 on_start: Started | None = None) -> Report:
    """Plan (dry run) or apply the named sections' steps on host; an apply waits up to wait s for the host's lock.
    Told as it goes: on_start(step) when a step begins, on_line(text) for each line of a long command's output,
    progress(result) when the step ends."""
    dry_run = params.dry_run if dry_run is None else dry_run
    runner = Runner(host, dry_run=dry_run, progress=progress, on_line=on_line, wait=wait,
                    keep_backups=params.keep_backups, allow_unvalidated=params.allow_unvalidated, on_start=on_start)
    host.begin_run(dry_run, ",".join(names or params.sections or ["all"]))  # with the reads that make the steps
    try:
        return runner.run(section_steps(host, params, names))
    finally:
        host.end_run()


def __getattr__(name: str):
    if name == "SECTIONS":  # the mapping, found on first use
        return sections()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
