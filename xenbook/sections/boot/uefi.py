"""The boot section for UEFI without GRUB: xen.efi reads xen.cfg beside it; systemd-boot or the firmware starts it."""

from __future__ import annotations

import re

from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command
from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import FileStep, Step
from xenbook.edits import blocks, xencfg
from xenbook.facts import boot as bootfacts
from xenbook.sections.boot.firstboot import FirmwareOneTimeBoot, FirmwareXenFirst, SystemdBootOneTimeBoot
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.steps import SECTION, BootFacts, Dom0KernelReady

ESP = "/boot"  # the AUR package installs xen.efi here (efi_dir defaults to /boot)
XEN_EFI, XEN_CFG = f"{ESP}/xen.efi", f"{ESP}/xen.cfg"
ENTRY_FILE = "xenbook-xen.conf"  # its systemd-boot ID, which loader.conf's default and bootctl set-oneshot name
LOADER_CONF, LOADER_ENTRY = f"{ESP}/loader/loader.conf", f"{ESP}/loader/entries/{ENTRY_FILE}"
EFI_LABEL = "Arch Linux with Xen (xenbook)"
MANAGED = "# Managed by xenbook: change the runbook's boot parameters, not this file.\n"


class XenEfiPresent(Step):
    section = SECTION

    def plan(self, host: Host) -> Plan:
        esp = bootfacts.esp_path(host)
        if esp != ESP:
            where = f"at {esp}" if esp else "nowhere (no vfat filesystem at /boot, /efi or /boot/efi)"
            return Plan.fail(f"the EFI system partition is mounted {where}; xen.efi and xen.cfg belong at {ESP}",
                             "mount the ESP at /boot, or build xen with efi_dir=/efi and use GRUB 2 (loader grub2)")
        if not host.exists(XEN_EFI):
            return Plan(reason=f"{XEN_EFI} is missing: Xen is not installed", failed=True,
                        remedy="run the install section (AUR package xen) first", missing=(XEN_EFI,))
        return Plan.ok(f"{XEN_EFI} is installed on the EFI system partition")


class XenEfiConfig(FileStep):
    """/boot/xen.cfg: a [global] default and a xenbook section with Xen's options, dom0, its initramfs, microcode."""

    section, path, validator = SECTION, XEN_CFG, "xen-cfg"

    def __init__(self, facts: BootFacts):
        self.facts = facts

    def render(self, host: Host, old: str | None) -> str:
        if old is not None and blocks.find_block(old, "xen-cfg") is None and old.strip():
            raise PreconditionFailed(f"{XEN_CFG} exists and was written by hand",
                                     f"move it aside (for example to {XEN_CFG}.mine), then plan again")
        f, k = self.facts, self.facts.params.kernel
        entry = xencfg.XenEfiEntry(options=f.xen_args_efi(host), kernel=f"vmlinuz-{k}",
                                   kernel_args=f.kernel_args(host), ramdisk=f"initramfs-{k}.img",
                                   ucode=f.efi_microcode(host))
        return blocks.ensure_block(old or "", "xen-cfg", MANAGED + xencfg.render_config(entry))


class SystemdBootXenEntry(FileStep):
    """A systemd-boot entry that starts xen.efi; the Arch entries stay as they are."""

    section, path = SECTION, LOADER_ENTRY

    def __init__(self, params: BootParams):
        self.params = params

    def render(self, host: Host, old: str | None) -> str:
        if not host.exists(LOADER_CONF):
            raise PreconditionFailed(f"{LOADER_CONF} is missing: systemd-boot is not installed on the ESP",
                                     "run bootctl install, or set uefi_entry to efibootmgr")
        return f"{MANAGED}title   Arch Linux ({self.params.kernel}), with Xen hypervisor\nefi     /xen.efi\n"


class SystemdBootDefault(FileStep):
    """loader.conf ends with a xenbook block choosing the Xen entry (the last default line wins)."""

    section, path = SECTION, LOADER_CONF

    def __init__(self, facts: BootFacts):
        self.facts = facts

    def render(self, host: Host, old: str | None) -> str:
        if old is None:
            raise PreconditionFailed(f"{LOADER_CONF} is missing", "run bootctl install first")
        if not self.facts.default_now(host):  # a one-time first boot: the default waits until Xen came up
            return blocks.remove_block(old, "xen-default")
        return blocks.ensure_block(old, "xen-default", f"default {ENTRY_FILE}\n")


class FirmwareXenEntry(Step):
    """The firmware's boot menu (NVRAM) has an entry that starts \\xen.efi; efibootmgr --create also puts it first."""

    section = SECTION

    def __init__(self, make_default: bool = True):
        self.make_default = make_default

    def plan(self, host: Host) -> Plan:
        listing = host.run(Command.of("efibootmgr"))
        if not listing.ok:
            return Plan.fail(f"efibootmgr exited {listing.returncode}: {listing.stderr.strip()}",
                             "install efibootmgr (pacman -S efibootmgr) and boot in UEFI mode")
        if re.search(rf"^Boot[0-9A-F]{{4}}\*? {re.escape(EFI_LABEL)}(\t|\s|$)", listing.stdout, re.M):
            return Plan.ok(f"the firmware already has the entry {EFI_LABEL!r}")
        disk, part, _index = bootfacts.partition_of(host, bootfacts.mounts(host)[ESP].source)
        create = "--create" if self.make_default else "--create-only"  # --create also puts it first
        command = Command.of("efibootmgr", create, "--disk", disk, "--part", str(part), "--label", EFI_LABEL,
                             "--loader", "\\xen.efi")
        return Plan.change(f"add {EFI_LABEL!r} to the firmware's boot entries", RunCommand(command))


def uefi_steps(params: BootParams, *, once: bool = False) -> list[Step]:
    facts = BootFacts(params, options_from="cmdline", once=once)
    steps: list[Step] = [XenEfiPresent(), Dom0KernelReady(params), XenEfiConfig(facts)]
    if params.uefi_entry == "systemd-boot":
        steps.append(SystemdBootXenEntry(params))
        if params.make_default:
            steps.append(SystemdBootDefault(facts))
        if once:
            steps.append(SystemdBootOneTimeBoot(ENTRY_FILE, (XEN_CFG, LOADER_ENTRY)))
    else:
        steps.append(FirmwareXenEntry(params.make_default and not once))
        if once:
            steps.append(FirmwareOneTimeBoot(EFI_LABEL, (XEN_CFG,)))
            if params.make_default:
                steps.append(FirmwareXenFirst(EFI_LABEL))
    return steps
