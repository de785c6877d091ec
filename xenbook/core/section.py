"""What a section is: its place in the runbook, its notebook, its parameters, its steps and its part of the report."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from xenbook.core.document import Part
from xenbook.core.host import Host
from xenbook.core.step import Step


@dataclass(frozen=True)
class Section:
    """One section of the runbook; a package's SECTION, found by the engine's registry."""

    name: str  # as --sections, reports and the ledger name it, e.g. "pv-guest"
    order: int  # its place in the runbook: the number its notebook's name starts with
    title: str
    notebook: str  # the notebook's file name, in notebooks_package
    steps: Callable[[Any, Host], list[Step]]  # f(the whole RunbookParams, host) -> the section's steps
    params_field: str | None = None  # the RunbookParams field that holds the section's parameters
    params: type | None = None  # that field's model (one item's model when many)
    many: bool = False  # the field is a list of params: a notebook run, and a form, per item
    params_help: str = ""  # the field's description
    check: Callable[[Any, Host], None] | None = None  # ParameterError for values this host cannot take
    check_items: Callable[[list], list] | None = None  # many: the items, or ParameterError when they collide
    # f(host, RunbookParams, the report of a dry run of preflight or of every section) -> its parts of the host report
    report: Callable[[Host, Any, Any], list[Part]] | None = None
    notebooks_package: str = "xenbook.notebooks"
    read_only: bool = False  # its steps only read the host (checks): its form has Plan and no Apply

    def notebook_path(self) -> Path:
        """Where the section's notebook is installed."""
        return Path(str(resources.files(self.notebooks_package).joinpath(self.notebook)))
