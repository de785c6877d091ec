"""The doctor's steps: one read-only check per area (boot, xen, services, network, guests). Each gathers the same
evidence once, matches the catalogue, and says what it found: the findings of its area (cause, evidence, fix,
source), or one line saying the area is healthy."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts.evidence import Evidence
from xenbook.facts.evidence_host import gather
from xenbook.sections.doctor.catalogue import AREAS, Finding, diagnose
from xenbook.sections.doctor.params import DoctorParams

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "doctor"


def evidence(host: Host, lines: int) -> Evidence:
    """The host's evidence, read once until the runner changes the host (kept in the host's fact cache)."""
    cache = host.__dict__.setdefault("_facts", {})
    key = (gather, lines)
    if key not in cache:
        cache[key] = gather(host, lines)
    return cache[key]


def findings(host: Host, lines: int) -> list[Finding]:
    cache = host.__dict__.setdefault("_facts", {})
    key = (diagnose, lines)
    if key not in cache:
        cache[key] = diagnose(evidence(host, lines))
    return cache[key]


def fact(ev: Evidence, key: str) -> str:
    return next((line.split("=", 1)[1] for line in ev.sources.get("facts", []) if line.startswith(f"{key}=")), "")


def _xl_version(ev: Evidence) -> str:
    lines = ev.sources.get("xl.info") or []
    parts = {m.group(1): m.group(2) for m in (re.match(r"^(xen_major|xen_minor|xen_extra)\s*:\s*(\S+)", x)
                                                for x in lines) if m}
    return f"{parts.get('xen_major', '?')}.{parts.get('xen_minor', '?')}{parts.get('xen_extra', '')}" if parts else ""


def healthy(area: str, ev: Evidence) -> str:
    """The one line an area shows when nothing in the catalogue matched."""
    installed, dom0 = fact(ev, "xen_installed") == "yes", fact(ev, "dom0") == "yes"
    loader = fact(ev, "loader") or "unknown"
    if not installed and area != "network":
        return "Xen is not installed yet: nothing to check here (the install and boot sections come first)"
    if area == "boot":
        return (f"Xen runs as dom0, booted by {loader}" + (
            f" (the default entry: {fact(ev, 'grub_default_entry')})" if loader == "grub2" else "")
                if dom0 else f"no boot problem found ({loader}, {fact(ev, 'boot_mode')}); Xen is not running yet")
    if area == "xen":
        version = _xl_version(ev)
        return (f"xl works: Xen {version}, this is dom0" if dom0 and version else
                "this is dom0" if dom0 else "Xen is not running: xl has nothing to talk to until the reboot")
    if area == "services":
        units = [line.split()[0] for line in ev.sources.get("units", []) if " active " in f"{line} "]
        return (f"Xen's units are active: {', '.join(units)}" if dom0 and units else
                "Xen's units start after the reboot into Xen" if not dom0 else "no unit problem found")
    if area == "network":
        bridges = [line.split()[0] for line in ev.sources.get("ip.link", []) if " kind=bridge " in line]
        default = next((line.split(" dev ")[1] for line in ev.sources.get("ip.route", [])
                        if line.startswith("default dev ")), "")
        return (f"bridge {', '.join(bridges)} is up" if bridges else "no bridge yet") + (
            f", the default route goes through {default}" if default else ", no default route")
    return "no guest failure in /var/log/xen or the journal"


class Doctor(Step):
    """One area's row, Doctor(AREA): warning with its findings, or ok with one line."""

    section = SECTION

    def __init__(self, area: str, params: DoctorParams):
        self.area, self.params = area, params
        self.name = self.named(area)

    def plan(self, host: Host) -> Plan:
        ev = evidence(host, self.params.journal_lines)
        found = [f for f in findings(host, self.params.journal_lines) if f.signature.area == self.area]
        if not found:
            return Plan.check("ok", "healthy", f"{self.area}: {healthy(self.area, ev)}")
        titles = "; ".join(f.signature.title for f in found)
        reason = " | ".join(f"{f.signature.title}: {' '.join(f.signature.cause.split())} (evidence: "
                            f"{' / '.join(f.evidence[:3])})" for f in found)
        fixes = " | ".join(f.signature.fix + (f" ({f.signature.step})" if f.signature.step else "") for f in found)
        return Plan.check("warning", f"{len(found)} finding{'s' if len(found) > 1 else ''}: {titles}",
                          f"{self.area}: {reason}", fixes, fail=self.params.fail_on_findings)


def doctor_steps(params: RunbookParams, host: Host | None = None) -> list[Step]:
    return [Doctor(area, params.doctor) for area in AREAS]
