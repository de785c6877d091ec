"""The dom0 section: Xen's services, xl.conf for a fixed dom0, no frontends in dom0's initramfs, the reboot."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RemoveFile, RunCommand, WriteFile
from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError
from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.model import size_mib
from xenbook.core.step import FileStep, Step
from xenbook.edits import blocks, shellvars, xlcfg
from xenbook.facts import services, xen
from xenbook.sections.boot import firstboot
from xenbook.sections.dom0.bridge import bridge_steps

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "dom0"
XL_CONF = "/etc/xen/xl.conf"
XENDOMAINS_CONF = "/etc/conf.d/xendomains"  # the AUR package's sysconfig leaf dir is conf.d; xendomains sources it
XENDOMAINS_SAVE_DIR = "/var/lib/xen/save"  # sysconfig.xendomains.in's XENDOMAINS_SAVE
REBOOT_MARK = "/var/lib/xenbook/reboot-required"
CORE_UNITS = ("xenstored.service", "xenconsoled.service", "xen-init-dom0.service")
QEMU_BACKEND = "xen-qemu-dom0-disk-backend.service"
QEMU_BINARY = "/usr/lib/xen/bin/qemu-system-i386"


def wanted_units(host: Host, p: RunbookParams) -> list[str]:
    units = list(CORE_UNITS)
    if host.exists(QEMU_BINARY):
        units.append(QEMU_BACKEND)
    if p.dom0.xendomains:
        units.append("xendomains.service")
    return units


class XenServicesEnabled(Step):
    """xenstored, xenconsoled and xen-init-dom0 (and the qdisk backend, xendomains when asked) are enabled."""

    section = SECTION

    def __init__(self, params: RunbookParams):
        self.params = params

    def plan(self, host: Host) -> Plan:
        units = wanted_units(host, self.params)
        states = [services.unit_state(host, u) for u in units]
        missing = [s.unit for s in states if not s.installed]
        if missing:
            return Plan.fail(f"{', '.join(missing)} not installed", "run the install section (AUR package xen)",
                             missing=tuple(f"{services.PACKAGE_UNITS}/{u}" for u in missing))
        note = ""
        if self.params.dom0.xendomains and services.unit_state(host, "libvirtd.service").enabled:
            note = "; warning: xendomains conflicts with libvirtd (enabled here): pick one manager"
        todo = [s.unit for s in states if not s.enabled]
        if not todo:
            return Plan.ok(f"enabled: {', '.join(units)}{note}")
        return Plan.change(f"enable {', '.join(todo)} (they start when the machine runs Xen){note}",
                           RunCommand(Command.of("systemctl", "enable", *todo)))


def guest_cpumask(boot) -> str | None:
    """xl.conf's vm.cpumask that keeps guests off dom0's pinned CPUs 0..dom0_max_vcpus-1, or None when not pinned."""
    if not (boot.dom0_vcpus_pin and boot.dom0_max_vcpus):
        return None
    return f"all,^0-{boot.dom0_max_vcpus - 1}" if boot.dom0_max_vcpus > 1 else "all,^0"


def check_cpus_left(params: RunbookParams, host: Host) -> None:
    """ParameterError when vm.cpumask would leave guests no CPU: xl ANDs the hard affinity of every guest it creates
    and every vCPU it pins with the mask and fails on an empty result (xl.conf(5)), so every xl create would fail."""
    boot = params.boot
    mask = guest_cpumask(boot)
    found = xen.machine_cpus(host) if mask else None
    if found is None or found[0] > boot.dom0_max_vcpus:
        return
    cpus, source = found
    fix = f"set boot.dom0_max_vcpus to at most {cpus - 1}, or " if cpus > 1 else ""
    raise ParameterError([("boot.dom0_max_vcpus", boot.dom0_max_vcpus, (
        f"with boot.dom0_vcpus_pin, {XL_CONF} gets vm.cpumask=\"{mask}\" to keep guests off dom0's CPUs, and this "
        f"host has {cpus} CPU{'s' if cpus != 1 else ''} ({source}): none is left for guests and every xl create "
        f"would fail (xl finds the guest's CPU map empty, or Xen refuses it); leave at least one CPU for guests: {fix}"
        "set boot.dom0_vcpus_pin to false"))])


class XlConfSettings(FileStep):
    """xl.conf: no autoballooning (dom0's memory is fixed) and guests kept off dom0's pinned CPUs."""

    section, path = SECTION, XL_CONF

    def __init__(self, params: RunbookParams):
        self.params = params

    def settings(self) -> list[tuple[str, str]]:
        pairs = [("autoballoon", "off")]
        mask = guest_cpumask(self.params.boot)
        if mask:
            pairs.append(("vm.cpumask", mask))
        if self.params.dom0.bridge != "xenbr0":
            pairs.append(("vif.default.bridge", self.params.dom0.bridge))
        return pairs

    def plan(self, host: Host) -> Plan:
        if not host.exists(XL_CONF):
            return Plan.fail(f"{XL_CONF} is missing: Xen is not installed", "run the install section first",
                             missing=(XL_CONF,))
        return super().plan(host)

    def render(self, host: Host, old: str | None) -> str:
        mine = self.settings()
        outside = xlcfg.active_keys(blocks.remove_block(old, "dom0"))
        clash = [f"{k} (line {outside[k]})" for k, _ in mine if k in outside]
        if clash:
            raise PreconditionFailed(f"{XL_CONF} already sets {', '.join(clash)} by hand",
                                     "remove or comment out those lines; xenbook then manages them in its block")
        body = "# Managed by xenbook: dom0's memory is fixed on Xen's command line, so no autoballooning.\n"
        return blocks.ensure_block(old, "dom0", body + xlcfg.render_settings(mine))


class XendomainsSettings(FileStep):
    """/etc/conf.d/xendomains: at host shutdown xendomains shuts the guests down (XENDOMAINS_SAVE=""), unless
    dom0.xendomains_save keeps the file's own value (saving them to /var/lib/xen/save and restoring them at boot)."""

    section, path, validator = SECTION, XENDOMAINS_CONF, "shell"

    def __init__(self, params: RunbookParams):
        self.params = params

    def plan(self, host: Host) -> Plan:
        if not host.exists(XENDOMAINS_CONF):
            return Plan.fail(f"{XENDOMAINS_CONF} is missing: the xendomains script refuses to run without it",
                             "reinstall the xen package (pacman -S xen puts a missing backup file back)",
                             missing=(XENDOMAINS_CONF,))
        plan = super().plan(host)
        saved = [] if self.params.dom0.xendomains_save else host.listdir(XENDOMAINS_SAVE_DIR) or []
        if saved and not plan.failed:
            plan.reason += (f"; note: {XENDOMAINS_SAVE_DIR} holds saved guests ({', '.join(saved)}) that are not "
                            "restored with saving off: remove them once those guests boot from their disks")
        return plan

    def ok_reason(self) -> str:
        if self.params.dom0.xendomains_save:
            return (f"{XENDOMAINS_CONF} keeps its own XENDOMAINS_SAVE (dom0.xendomains_save): guests are saved at "
                    "host shutdown and restored at boot")
        return f'{XENDOMAINS_CONF} sets XENDOMAINS_SAVE="": guests are shut down at host shutdown, not saved'

    def render(self, host: Host, old: str | None) -> str:
        if self.params.dom0.xendomains_save:
            return blocks.remove_block(old or "", "dom0")
        body = ("# Managed by xenbook: shut guests down at host shutdown instead of saving their memory to "
                f"{XENDOMAINS_SAVE_DIR}\n# (set the runbook's dom0.xendomains_save to keep saving).\n")
        return blocks.ensure_block(old or "", "dom0", body + shellvars.render_assignments([("XENDOMAINS_SAVE", "")]))


class Dom0InitramfsBackendsOnly(Step):
    """dom0's initramfs holds no Xen frontend drivers: frontends are guest drivers, dom0 needs backends."""

    section = SECTION
    FILES = ("/etc/mkinitcpio.conf",)

    def plan(self, host: Host) -> Plan:
        found = []
        paths = list(self.FILES) + [f"/etc/mkinitcpio.conf.d/{n}" for n in host.listdir("/etc/mkinitcpio.conf.d") or []]
        for path in paths:
            for line in (host.read_text(path) or "").splitlines():
                if re.match(r"^\s*MODULES\+?=", line) and re.search(r"\bxen-(blk|net|fb|kbd)front\b", line):
                    found.append(path)
        if found:
            return Plan.check("warning", ", ".join(found), f"MODULES in {', '.join(found)} lists Xen frontends",
                              "remove xen-blkfront/xen-netfront from dom0's MODULES: frontends belong in guests; "
                              "dom0's backends load from /usr/lib/modules-load.d/xen.conf", )
        return Plan.ok("no frontend drivers in dom0's MODULES (backends load from modules-load.d/xen.conf; "
                       "xen-blkfront and xen-netfront belong in guests)")


class RebootIntoXen(Step):
    """The machine runs Xen as dom0 with the services up and dom0's memory as set; else a reboot is due."""

    section = SECTION

    def __init__(self, params: RunbookParams):
        self.params = params

    def plan(self, host: Host) -> Plan:
        state = xen.xen_state(host)
        if not state.dom0:
            cmdline = (host.read_text("/proc/cmdline") or "").strip()
            booted = next((w.split("=", 1)[1] for w in cmdline.split() if w.startswith("BOOT_IMAGE=")), "")
            failed = firstboot.came_back_without_xen(host)
            if failed is not None:
                return Plan.fail(
                    f"the machine came back WITHOUT Xen (booted {booted or 'a kernel'} directly): the Xen entry "
                    f"booted once ({failed.get('loader') or 'one-time boot'}) and Xen did not come up as dom0, so the "
                    "old default booted again and stays the default",
                    "xenbook doctor names the cause; fix it and apply again (the boot section arms the changed "
                    "entry for one more boot), then reboot")
            return self._reboot_needed(host, "the machine is a Xen guest, not dom0" if state.on_xen else
                                       f"not running under Xen (booted {booted or 'a kernel'} directly)")
        info = xen.xl_info(host)
        if info is None:
            return Plan.fail("running as dom0, but xl info does not answer",
                             "start xenstored (systemctl start xenstored) and check journalctl -u xenstored")
        units = wanted_units(host, self.params)
        active = host.run(Command.of("systemctl", "is-active", *units)).stdout.split()
        down = [u for u, s in zip(units, active) if s != "active"]
        if down or len(active) != len(units):
            return Plan.fail(f"running Xen {info.xen_version}, but not active: {', '.join(down) or 'unknown'}",
                             "systemctl status those units; journalctl -b -u xenstored")
        memory = dom0_memory_mib(host)
        wanted = _mib(self.params.boot.dom0_mem)
        if memory is not None and abs(memory - wanted) > max(16, wanted // 50):
            booted = booted_dom0_mem_mib(info.xen_commandline)
            if booted is not None and booted != wanted:  # Xen was booted with another dom0_mem than is set now
                return self._reboot_needed(host, f"dom0 has {memory} MiB from the running Xen's dom0_mem "
                                                 f"({booted} MiB), and {wanted} MiB is set now")
            return Plan.fail(f"dom0 has {memory} MiB, not the {wanted} MiB set",
                             "check the Xen command line (xl info | grep xen_commandline) and reboot into the entry")
        done = f"running Xen {info.xen_version} as dom0 with {memory} MiB; {', '.join(units)} active"
        mark = host.read_bytes(REBOOT_MARK)
        first = host.read_bytes(firstboot.FIRST_BOOT_MARK)  # left by a one-time boot when first_boot changed since
        done_marks = [RemoveFile(path, data) for path, data in ((REBOOT_MARK, mark), (firstboot.FIRST_BOOT_MARK, first))
                      if data is not None]
        if done_marks:  # the reboot it records happened, or the change that asked for it was undone
            return Plan.change(f"{done}; the reboot recorded in {REBOOT_MARK} is no longer needed", *done_marks)
        return Plan.ok(done)

    def _reboot_needed(self, host: Host, why: str) -> Plan:
        reason = f"reboot into the Xen entry: {why}; after the reboot run this section again to verify"
        armed = firstboot.read_mark(host)
        if armed is not None and armed.get("boot_id") == firstboot.boot_id(host):  # armed for the next boot only
            reason = (f"reboot: the Xen entry boots once ({why}); if Xen does not come up (a hang, a panic, a "
                      "watchdog or a power cycle), the boot after it is the old default; after the reboot run this "
                      "same apply again: once Xen runs as dom0 the boot section makes the entry the default, and "
                      "this section verifies Xen's services")
        boot_id = (host.read_text("/proc/sys/kernel/random/boot_id") or "").strip()
        record = json.dumps({"reason": why, "boot_id": boot_id}, sort_keys=True) + "\n"
        old = host.read_bytes(REBOOT_MARK)
        plan = Plan(reason=reason, reboot=reason)
        if old != record.encode():
            plan.actions.append(WriteFile(REBOOT_MARK, old, record.encode(), mode=0o644))
        return plan


def _mib(size: str) -> int:
    return size_mib(size)


def booted_dom0_mem_mib(xen_commandline: str) -> int | None:
    """The fixed size in the running Xen's dom0_mem= option (its first plain size, e.g. 2048M of 2048M,max:2048M)."""
    value = next((w.split("=", 1)[1] for w in xen_commandline.split() if w.startswith("dom0_mem=")), None)
    size = next((item for item in (value or "").split(",") if item and ":" not in item), None)
    try:
        return _mib(size.upper()) if size else None
    except ValueError:
        return None


def dom0_memory_mib(host: Host) -> int | None:
    """Domain-0's memory from `xl list Domain-0`."""
    result = host.run(Command.of("xl", "list", "Domain-0"))
    rows = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()]
    if not result.ok or not rows or len(rows[0]) < 3 or not rows[0][2].isdigit():
        return None
    return int(rows[0][2])


def dom0_steps(params: RunbookParams, host: Host) -> list[Step]:
    xendomains = [XendomainsSettings(params)] if params.dom0.xendomains else []
    return ([XenServicesEnabled(params), XlConfSettings(params), *xendomains, Dom0InitramfsBackendsOnly()]
            + bridge_steps(params, host) + [RebootIntoXen(params)])
