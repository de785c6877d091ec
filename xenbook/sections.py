"""The runbook's sections in order: each one's notebook, parameters and steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .hosts.base import Host
from .params import SECTION_NAMES, RunbookParams
from .report import Report
from .runner import Progress, Runner
from .steps.base import Step
from .steps.boot import boot_steps
from .steps.dom0 import check_cpus_left, dom0_steps
from .steps.domu import domu_steps
from .steps.install import install_steps
from .steps.manage import manage_steps
from .steps.preflight import preflight_steps
from .steps.pv_guest import pv_guest_steps


@dataclass(frozen=True)
class Section:
    name: str
    notebook: str
    title: str
    params_field: str | None  # the RunbookParams field holding this section's parameters
    steps: Callable[[RunbookParams, Host], list[Step]]
    check: Callable[[RunbookParams, Host], None] | None = None  # ParameterError for values this host cannot take


SECTIONS: dict[str, Section] = {s.name: s for s in (
    Section("preflight", "00-preflight.ipynb", "Preflight: can this machine run Xen, and what is missing?",
            "preflight", preflight_steps),
    Section("install", "10-install.ipynb", "Install Xen from the AUR, the Arch way", "install", install_steps),
    Section("boot", "20-boot.ipynb", "Boot Xen: a multiboot2 entry for the hypervisor and dom0", "boot",
            boot_steps),
    Section("dom0", "30-dom0.ipynb", "dom0: Xen's services, fixed memory and CPUs, the guests' bridge, the reboot",
            "dom0", dom0_steps, check_cpus_left),
    Section("domu", "40-domu.ipynb", "A guest: storage made safely, Arch bootstrapped, xl config, started",
            "guests", domu_steps),
    Section("pv-guest", "50-pv-guest.ipynb", "Arch as a Xen guest: frontends, the hvc0 console, an agent, PV boot",
            "pv_guest", pv_guest_steps),
    Section("manage", "60-manage.ipynb", "Manage: the domains, live CPU and memory, actions, xl or libvirt",
            "manage", manage_steps),
)}


def available(names: list[str] | None) -> list[Section]:
    """The sections named (all built ones when None), in runbook order."""
    wanted = names or list(SECTIONS)
    unbuilt = [n for n in wanted if n in SECTION_NAMES and n not in SECTIONS]
    if unbuilt:
        from .errors import ParameterError
        raise ParameterError([("sections", ",".join(wanted),
                               f"not built yet in this version: {', '.join(unbuilt)}")])
    return [SECTIONS[n] for n in SECTION_NAMES if n in wanted]


def check_sections(host: Host, params: RunbookParams, names: list[str] | None = None) -> None:
    """ParameterError, before any step runs, when the named sections' values do not fit this host."""
    for section in available(names or params.sections):
        if section.check:
            section.check(params, host)


def section_steps(host: Host, params: RunbookParams, names: list[str] | None = None) -> list[Step]:
    """The steps of the named sections for this host, in order (after check_sections)."""
    check_sections(host, params, names)
    return [step for section in available(names or params.sections) for step in section.steps(params, host)]


def run_sections(host: Host, params: RunbookParams, names: list[str] | None = None, *,
                 dry_run: bool | None = None, progress: Progress | None = None,
                 on_line: Callable[[str], None] | None = None, wait: float = 0.0) -> Report:
    """Plan (dry run) or apply the named sections' steps on host; an apply waits up to wait s for the host's lock."""
    runner = Runner(host, dry_run=params.dry_run if dry_run is None else dry_run, progress=progress,
                    on_line=on_line, wait=wait)
    return runner.run(section_steps(host, params, names))
