"""End states any section can use: packages from the enabled repositories installed, a packaged unit enabled."""

from __future__ import annotations

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts import packages as pkgfacts
from xenbook.facts import services
from xenbook.steps.failures import pacman_locked, remedies


class RepoPackagesWanted(Step):
    """The named packages are installed from the enabled pacman repositories."""

    def __init__(self, names: list[str], missing_remedy: str, provides: tuple[str, ...] = (), *, section: str):
        self.names, self.missing_remedy, self.provides = names, missing_remedy, provides
        self.section, self.name = section, self.named(','.join(names))

    def plan(self, host: Host) -> Plan:
        have = pkgfacts.installed_versions(host, self.names)
        missing = [n for n in self.names if not have[n]]
        if not missing:
            return Plan.ok(", ".join(f"{n} {have[n]}" for n in self.names) + " installed")
        locked = pacman_locked(host)
        if locked:
            return locked
        why = f"{', '.join(missing)} not installed"
        return Plan.change(why, RunCommand(Command.of("pacman", "-S", "--needed", "--noconfirm", *missing), why,
                                           remedies=((r"target not found", self.missing_remedy),)
                                           + remedies(source="the package mirrors")))


class UnitEnabled(Step):
    """A unit a package installs is enabled (it starts at the next boot); why says what that gives."""

    def __init__(self, unit: str, package: str, *, section: str, name: str = "", why: str = ""):
        self.unit, self.package, self.section, self.why = unit, package, section, why
        self.name = name or self.named(unit)

    def plan(self, host: Host) -> Plan:
        state = services.unit_state(host, self.unit)
        note = f" ({self.why})" if self.why else ""
        if state.enabled:
            return Plan.ok(f"{self.unit} is enabled{note}")
        if not state.installed:
            return Plan.fail(f"{self.unit} is not installed", f"install {self.package} first",
                             missing=(f"{services.PACKAGE_UNITS}/{self.unit}",))
        return Plan.change(f"enable {self.unit}{note}", RunCommand(Command.of("systemctl", "enable", self.unit)))
