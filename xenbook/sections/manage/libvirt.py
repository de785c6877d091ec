"""libvirt's Xen (libxl) driver and virt-manager instead of xendomains: installed, xendomains off, libvirtd on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts import services
from xenbook.sections.install.aur import AurPackageInstalled
from xenbook.steps.system import RepoPackagesWanted, UnitEnabled

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "manage"
LIBVIRTD = "libvirtd.service"
XENDOMAINS = "xendomains.service"
URI = "xen:///system"


class XendomainsDisabled(Step):
    """xendomains does not start at boot: it conflicts with libvirtd (Conflicts= in its unit)."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        state = services.unit_state(host, XENDOMAINS)
        if not state.enabled:
            return Plan.ok(f"{XENDOMAINS} is {'not enabled' if state.installed else 'not installed'}")
        return Plan.change(f"disable {XENDOMAINS} (not stopped: stopping it would shut down or save the guests it "
                           "manages; it goes at the next boot, or when libvirtd starts, since they conflict)",
                           RunCommand(Command.of("systemctl", "disable", XENDOMAINS)))


class LibvirtdEnabled(UnitEnabled):
    """libvirtd starts at boot (it is not started now: starting it stops xendomains, which stops its guests)."""

    def __init__(self):
        super().__init__(LIBVIRTD, "libvirt", section=SECTION, name=type(self).name)


class LibvirtXenAnswers(Step):
    """virsh reaches Xen through libvirtd's libxl driver (virsh -c xen:///system version)."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        if not host.run(Command.of("systemctl", "is-active", "-q", LIBVIRTD)).ok:
            return Plan.check("warning", "libvirtd not running", f"{LIBVIRTD} is enabled but not running, so "
                              f"virsh -c {URI} cannot answer yet", "start it in a quiet moment (systemctl start "
                              "libvirtd: that stops xendomains and the guests it manages) or reboot, then run "
                              "this section again; domains made with xl stay invisible to libvirt")
        result = host.run(Command.of("virsh", "-c", URI, "version"))
        text = result.stdout + result.stderr
        if result.ok and "Running hypervisor: Xen" in text:
            line = next((x for x in text.splitlines() if "Running hypervisor" in x), "").strip()
            return Plan.check("ok", line, f"virsh -c {URI} version answers; virt-manager connects to the same URI "
                                          "(or xen+ssh://root@HOST/system from another machine)")
        return Plan.check("blocking", f"virsh exited {result.returncode}", f"virsh -c {URI} version: "
                          + (text.strip().splitlines() or ["no output"])[-1],
                          "this libvirt lacks the libxl (Xen) driver: install libvirt-xen from the AUR "
                          "(libvirt_package libvirt-xen), then run again", fail=True)


def libvirt_steps(params: RunbookParams) -> list[Step]:
    """Install libvirt with its Xen driver (and virt-manager), turn xendomains off and libvirtd on, then check."""
    m = params.manage
    provides = (f"{services.PACKAGE_UNITS}/{LIBVIRTD}", "/usr/bin/virsh")
    if m.libvirt_package == "libvirt-xen":
        install = AurPackageInstalled("libvirt-xen", params.install)
        install.section, install.provides = SECTION, provides
        steps: list[Step] = [install]
    else:
        steps = [RepoPackagesWanted(["libvirt"], "libvirt is in no enabled repository: enable [extra], then run "
                                                 "again", provides, section=SECTION)]
    if m.virt_manager:
        steps.append(RepoPackagesWanted(["virt-manager"], "virt-manager is in no enabled repository: enable [extra], "
                                                         "then run again", section=SECTION))
    return steps + [XendomainsDisabled(), LibvirtdEnabled(), LibvirtXenAnswers()]
