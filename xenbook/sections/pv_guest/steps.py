"""The pv-guest section: an Arch guest made ready to boot PV (frontends, hvc0 console, agent), with checks for what
trips a PV guest up (pygrub's default entry, the clock, an APIC panic)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, WriteFile
from xenbook.core.commands import Command
from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import FileStep, Regeneration, Step
from xenbook.edits import blocks
from xenbook.facts import guest as guestfacts
from xenbook.facts import services
from xenbook.sections.install.aur import AurPackageInstalled
from xenbook.sections.install.steps import BuildToolsInstalled, BuildUserExists, PackageDatabasesSynced
from xenbook.sections.pv_guest.boot import console_steps
from xenbook.sections.pv_guest.params import PvGuestParams
from xenbook.sections.pv_guest.xapi import XapiBootMode
from xenbook.steps.system import RepoPackagesWanted, UnitEnabled

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "pv-guest"
DROP_IN = "/etc/mkinitcpio.conf.d/xenbook-xen-guest.conf"
MANAGED = "# Managed by xenbook: change the runbook's pv-guest parameters, not this file.\n"
GETTY = "serial-getty@hvc0.service"
FSTAB = "/etc/fstab"
XENFS_LINE = "xenfs\t/proc/xen\txenfs\tdefaults,nofail\t0 0\n"


class GuestRole(Step):
    """The target is a guest of Xen (or its disk, or a machine to move into Xen), never dom0 itself."""

    section = SECTION

    def __init__(self, params: PvGuestParams):
        self.params = params

    def plan(self, host: Host) -> Plan:
        role = guestfacts.guest_role(host)
        facts = {"pv_guest": {"role": role}}
        if role == "dom0":
            why = ("the target is Xen's dom0 (control_d in /proc/xen/capabilities), not a guest: the guest's steps "
                   "are left out, since console=hvc0 and frontend drivers would break dom0's own boot")
            fix = "set target to the guest: local inside it, ssh:root@GUEST, or chroot:DIR with its disk mounted at DIR"
            return Plan.check("blocking" if self.params.xe_apply != "none" else "warning", "dom0", why, fix,
                              fail=self.params.xe_apply != "none", facts=facts)
        what = {"none": "not running under Xen: the changes take effect when it boots as a Xen guest",
                "chroot": "a chroot of the guest's disk: the changes take effect at the guest's next boot",
                "HVM": "an HVM guest of Xen: after these steps, the switch to PV (below, or the xl cfg) boots it PV",
                "PV": "already a PV guest of Xen", "PVH": "a PVH guest of Xen (PV drivers, no device model)"}
        return Plan.check("ok", role, what.get(role, f"a guest of Xen ({role})"), facts=facts)


def listed_modules(host: Host, skip: str = DROP_IN) -> tuple[set[str], list[str]]:
    """The modules mkinitcpio.conf and its drop-ins (except skip) put in MODULES, and the files that set any."""
    paths = ["/etc/mkinitcpio.conf"] + [f"/etc/mkinitcpio.conf.d/{n}" for n in
                                        sorted(host.listdir("/etc/mkinitcpio.conf.d") or []) if n.endswith(".conf")]
    found: list[str] = []
    files: list[str] = []
    for path in (p for p in paths if p != skip):
        for m in re.finditer(r"(?m)^[ \t]*MODULES(\+?)=\(([^)]*)\)", host.read_text(path) or ""):
            words = [w.strip("'\"").rstrip("?") for w in re.sub(r"#[^\n]*", "", m.group(2)).split()]
            found = (found if m.group(1) else []) + words
            files += [path] if words else []
    return set(found), files


class GuestInitramfsModules(Step):
    """A mkinitcpio drop-in loads Xen's block and network frontends early, so a PV guest finds its root disk."""

    section = SECTION
    triggers = ("GuestInitramfs",)

    def __init__(self, params: PvGuestParams):
        self.modules = params.modules

    def text(self) -> bytes:
        why = ("# Xen's frontends: xen-blkfront (the xvd disks) and xen-netfront (the vif NIC)"
               + (", xen-fbfront and xen-kbdfront (the PV framebuffer)" if len(self.modules) > 2 else "")
               + ". xenfs is not needed.\n")
        return (MANAGED + why + f"MODULES+=({' '.join(self.modules)})\n").encode()

    def plan(self, host: Host) -> Plan:
        old, new = host.read_bytes(DROP_IN), self.text()
        if old == new:
            return Plan.ok(f"{DROP_IN} loads {', '.join(self.modules)}")
        listed, files = listed_modules(host)
        if old is None and set(self.modules) <= listed:
            return Plan.ok(f"{', '.join(self.modules)} already in MODULES ({', '.join(dict.fromkeys(files))})")
        return Plan.change(f"{'create' if old is None else 'update'} {DROP_IN}: MODULES+=({' '.join(self.modules)})",
                           WriteFile(DROP_IN, old, new, mode=0o644, validator="shell"))


def preset_images(host: Host) -> list[str]:
    """The initramfs images the presets in /etc/mkinitcpio.d make (default and fallback)."""
    out = []
    for name in sorted(n for n in host.listdir("/etc/mkinitcpio.d") or [] if n.endswith(".preset")):
        out += re.findall(r"(?m)^[ \t]*\w+_image=[\"']?([^\"'\s]+)", host.read_text(f"/etc/mkinitcpio.d/{name}") or "")
    return out


class GuestInitramfs(Regeneration):
    """Every preset's initramfs is rebuilt (mkinitcpio -P) after the drop-in changed."""

    section = SECTION
    command = Command.of("mkinitcpio", "-P")

    def stale(self, host: Host) -> str | None:
        missing = [p for p in preset_images(host) if not host.exists(p)]
        return f"{', '.join(missing)} missing" if missing else None

    def plan(self, host: Host) -> Plan:
        plan = super().plan(host)
        for action in plan.actions:
            action.remedies = ((r"module not found: '?(xen-\w+)",
                                "the kernel has no such module: boot the guest with Arch's stock linux or "
                                "linux-lts kernel (pacman -S linux), then run again"),)
            action.tail = 20
        return plan


def _has_nofail(line: str) -> bool:
    fields = line.split()
    return len(fields) > 3 and "nofail" in fields[3].split(",")


def _xenfs_lines(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), 1)
            if len(line.split()) >= 3 and not line.lstrip().startswith("#") and line.split()[1] == "/proc/xen"]


class XenfsMounted(FileStep):
    """fstab mounts xenfs at /proc/xen with nofail (asked for; only old tools need it), in a xenbook block."""

    # No findmnt --verify: it checks this machine's devices and mount points, and a guest's /proc/xen exists only
    # once xenfs is mounted, so it would reject every correct guest fstab.
    section, path = SECTION, FSTAB

    def render(self, host: Host, old: str | None) -> str:
        old = old or ""
        outside = _xenfs_lines(blocks.remove_block(old, "xenfs"))
        if outside:
            n, line = outside[0]
            if not _has_nofail(line):
                raise PreconditionFailed(f"{FSTAB} line {n} mounts /proc/xen without nofail: on a boot without Xen "
                                         "it fails and can stop the boot in emergency mode",
                                         "add nofail to its options (or delete it: proc-xen.mount mounts xenfs)")
            return blocks.remove_block(old, "xenfs")
        body = "# Managed by xenbook: xenfs for tools that still read /proc/xen; nofail keeps non-Xen boots going.\n"
        return blocks.ensure_block(old, "xenfs", body + XENFS_LINE)


class XenfsNotRequired(Step):
    """No fstab line mounts xenfs without nofail (a plain line can stop a boot without Xen)."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        lines = [(n, line) for n, line in _xenfs_lines(host.read_text(FSTAB) or "") if not _has_nofail(line)]
        if lines:
            return Plan.check("warning", f"{FSTAB} line {lines[0][0]}", "fstab mounts xenfs at /proc/xen without "
                              "nofail: a boot without Xen can stop in emergency mode",
                              "add nofail to that line, or delete it: a normal guest needs no xenfs, and "
                              "proc-xen.mount mounts it where tools want it")
        return Plan.check("ok", "no xenfs line", "no xenfs in fstab: normal guests need none (the agent and tools "
                                                 "use /dev/xen/xenbus); set xenfs to add it with nofail")


def agent_steps(p: RunbookParams) -> list[Step]:
    """Install the chosen guest agent (AUR build or repositories) and enable its unit."""
    g = p.pv_guest
    if g.agent == "none":
        return []
    unit_path = f"{services.PACKAGE_UNITS}/{g.agent_unit}"
    if g.agent_source == "repo":
        fix = (f"{g.agent} is in no enabled repository: set agent_source aur (it is built from the AUR as the "
               "install section builds xen), or build and install it by hand (makepkg -si), then run again")
        steps: list[Step] = [RepoPackagesWanted([g.agent], fix, provides=(unit_path,), section=SECTION)]
    else:
        build = AurPackageInstalled(g.agent, p.install)
        build.provides = (unit_path,)
        steps = [PackageDatabasesSynced(), BuildToolsInstalled(), BuildUserExists(p.install), build]
        for step in steps:
            step.section = SECTION
    return steps + [UnitEnabled(g.agent_unit, g.agent, section=SECTION)]


class GuestClock(Step):
    """The guest's hardware clock is read as UTC and its time comes from Xen."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        mode, source = guestfacts.clock(host)
        value = f"RTC {mode}" + (f", clock source {source}" if source else "")
        if mode != "UTC":
            return Plan.check("warning", value, "the hardware clock is read as local time",
                              "timedatectl set-local-rtc 0 (it records UTC in /etc/adjtime)")
        return Plan.check("ok", value, "the RTC is UTC and a Xen guest takes its time from the hypervisor "
                                       "(clock source xen): nothing to set")


class ApicPanicAdvice(Step):
    """noapic is advised only when the kernel log shows the APIC panic that asks for apic=debug."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        lines = guestfacts.apic_panic_lines(host)
        if lines:
            return Plan.check("warning", lines[-1].strip()[:120], "the kernel log shows a panic asking for apic=debug",
                              "add noapic to the guest's kernel command line (GRUB_CMDLINE_LINUX_DEFAULT, the "
                              "menu.lst kernel line or the xl cfg cmdline), boot again, and report the bug")
        return Plan.check("ok", "no APIC panic", "no kernel panic about the APIC in the kernel log: "
                                                 "noapic is not needed")


def pv_guest_steps(params: RunbookParams, host: Host) -> list[Step]:
    """The pv-guest section's steps for this target (only the role check and xe commands on dom0)."""
    g = params.pv_guest
    steps: list[Step] = [GuestRole(g)]
    if guestfacts.guest_role(host) != "dom0":
        steps += [GuestInitramfsModules(g), GuestInitramfs()] + console_steps(g, host)
        steps += [UnitEnabled(GETTY, "systemd", section=SECTION, name="SerialGettyEnabled",
                              why="a login on hvc0, Xen's PV console, in xl console or the XAPI console")
                  ] if g.serial_getty else []
        steps += [XenfsMounted() if g.xenfs else XenfsNotRequired()]
        steps += agent_steps(params) + [GuestClock(), ApicPanicAdvice()]
    if g.vm_uuid:
        steps.append(XapiBootMode(g))
    return steps
