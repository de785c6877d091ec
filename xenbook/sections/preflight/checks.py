"""Readiness checks: read-only steps whose plan is a verdict (ok, warning, blocking) with a value and a remedy."""

from __future__ import annotations

from xenbook.core.actions import Plan
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts import boot as bootfacts
from xenbook.facts import cpu as cpufacts
from xenbook.facts import xen
from xenbook.sections.preflight.params import PreflightParams

SECTION = "preflight"


def cpu_info(host: Host) -> cpufacts.CpuInfo | None:
    return host.fact(cpufacts.cpu_info)


def xen_state(host: Host) -> xen.XenState:
    return host.fact(xen.xen_state)


def dom0_info(host: Host) -> xen.XlInfo | None:
    return xen.xl_info(host) if xen_state(host).dom0 else None


def kernel_config(host: Host) -> dict[str, str] | None:
    return host.fact(bootfacts.kernel_config)


class Check(Step):
    """A readiness row: check() reads the host and returns row(...); nothing is ever changed."""

    section = SECTION

    def __init__(self, params: PreflightParams):
        self.params = params

    def row(self, verdict: str, value: str, reason: str, remedy: str = "", **facts) -> Plan:
        return Plan.check(verdict, value, reason, remedy, fail=verdict == "blocking" and self.params.require_ready,
                          facts=facts)

    def check(self, host: Host) -> Plan:
        raise NotImplementedError

    def plan(self, host: Host) -> Plan:
        try:
            return self.check(host)
        except HostError as e:
            return self.row("warning", "unknown", f"could not check: {e}",
                            "fix what the message names, or run as root (sudo: true), then plan again")
