"""Which boot path the host takes, and its steps: GRUB 2, GRUB legacy or UEFI, chosen from the loader found."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenbook.core.actions import Plan
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.facts import boot as bootfacts
from xenbook.sections.boot.firstboot import first_boot_once
from xenbook.sections.boot.legacy import legacy_steps
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.steps import SECTION, grub2_steps
from xenbook.sections.boot.uefi import uefi_steps

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams


class BootLoaderKnown(Step):
    """The host boots with a loader xenbook can give a Xen entry."""

    section = SECTION

    def __init__(self, found: str | None, mode: str):
        self.found, self.mode = found, mode

    def plan(self, host: Host) -> Plan:
        if self.found is None:
            return Plan.fail(f"no boot loader found ({self.mode} boot): no GRUB, systemd-boot or syslinux files",
                             "set the parameter loader to grub2, grub-legacy or uefi")
        return Plan.fail(f"the host boots with {self.found}, which xenbook does not write entries for yet",
                         "add an mboot.c32 entry by hand (see the reference), or switch to GRUB 2")


def chosen_loader(params: BootParams, host: Host) -> tuple[str | None, str | None]:
    """(xenbook's boot path, the detected loader): grub2, grub-legacy or uefi, or None when unsupported."""
    if params.loader != "auto":
        return params.loader, params.loader
    found = host.fact(bootfacts.boot_loader)
    path = {"grub2": "grub2", "grub-legacy": "grub-legacy", "systemd-boot": "uefi"}.get(found or "")
    if found is None and bootfacts.boot_mode(host) == "uefi" and bootfacts.esp_path(host) == "/boot":
        path = "uefi"  # the firmware can start xen.efi itself
    return path, found


def boot_steps(params: RunbookParams, host: Host) -> list[Step]:
    """The steps for the boot loader the host uses (or the one params.boot.loader names)."""
    path, found = chosen_loader(params.boot, host)
    if path is None:
        return [BootLoaderKnown(found, bootfacts.boot_mode(host))]
    once = first_boot_once(params, path)
    if path == "grub-legacy":
        return legacy_steps(params.boot)
    return {"grub2": grub2_steps, "uefi": uefi_steps}[path](params.boot, once=once)
