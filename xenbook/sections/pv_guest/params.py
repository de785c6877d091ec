"""The pv-guest section's parameters, and the XAPI commands that switch a VM to PV and back to HVM."""

from __future__ import annotations

import html
import re
import shlex
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from xenbook.connectors.targets import parse_target
from xenbook.core.errors import ParameterError
from xenbook.core.model import Model, build

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
AGENT_UNITS = {"xen-guest-agent": "xen-guest-agent.service", "xe-guest-utilities": "xe-linux-distribution.service"}
PV_WARNING = ("XCP-ng 8.1 and later no longer support PV guests (32-bit PV was removed in an 8.2 update); 64-bit PV "
              "still boots there for now but should be converted. Prefer HVM (the stock kernel's PV drivers load "
              "by themselves, a PVHVM guest) or PVH where the pool supports it (experimental in XCP-ng 8.3). As PV, "
              "pygrub hands Arch's zstd-compressed kernel to Xen's domain builder, which reads zstd from Xen 4.15 "
              "on: a pool on an older Xen (XCP-ng 8.2 runs 4.13) cannot start it.")


class PvGuestParams(Model):
    """Arch as a Xen guest: frontends in the initramfs, console on hvc0, a guest agent, the XAPI switch to PV."""

    loader: Literal["auto", "grub2", "grub-legacy", "direct"] = Field(
        "auto", description="the guest's boot configuration: auto detects GRUB 2 or menu.lst; direct means dom0 "
                            "boots its kernel (the xl cfg holds the command line)")
    framebuffer: bool = Field(False, description="also load xen-fbfront and xen-kbdfront (a PV framebuffer, vfb)")
    serial_getty: bool = Field(True, description="enable serial-getty@hvc0 for a login on the Xen console")
    xenfs: bool = Field(False, description="mount xenfs at /proc/xen from fstab (nofail); normal guests need none")
    agent: Literal["xen-guest-agent", "xe-guest-utilities", "none"] = Field(
        "xen-guest-agent", description="guest agent reporting to XAPI: xen-guest-agent (Rust, the successor), "
                                       "xe-guest-utilities (XenServer's), or none")
    agent_source: Literal["aur", "repo"] = Field(
        "aur", description="build the agent from the AUR as the install section builds xen, or take it from "
                           "an enabled pacman repository")
    vm_uuid: str | None = Field(None, description="the VM's UUID on XenServer or XCP-ng (xe vm-list lists it); "
                                                  "prints the xe commands for both directions")
    pool_master: str | None = Field(None, description="ssh:[user@]host of the pool master, to run the xe commands")
    xe_apply: Literal["none", "pv", "hvm"] = Field(
        "none", description="run the switch to pv (or back to hvm) on pool_master; none only prints the commands")

    @field_validator("vm_uuid")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        v = v.strip().lower()
        if not _UUID.fullmatch(v):
            raise ValueError("must be a VM UUID such as 0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0b "
                             "(xe vm-list name-label=NAME params=uuid --minimal)")
        return v

    @field_validator("pool_master")
    @classmethod
    def _master(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        try:
            kind = parse_target(v, "pool_master").kind
        except ParameterError as e:  # named here, so the error says pv_guest.pool_master
            raise ValueError(e.problems[0][2]) from None
        if kind != "ssh":
            raise ValueError("must be ssh:[user@]host[:port]: the xe commands run on the pool master over SSH")
        return v

    @model_validator(mode="after")
    def _apply_needs(self):
        if self.xe_apply != "none" and (self.vm_uuid is None or self.pool_master is None):
            raise ValueError("xe_apply needs vm_uuid and pool_master (ssh:root@MASTER)")
        return self

    @property
    def agent_unit(self) -> str | None:
        return AGENT_UNITS.get(self.agent)

    @property
    def modules(self) -> list[str]:
        """The frontend drivers the guest's initramfs loads."""
        return ["xen-blkfront", "xen-netfront"] + (["xen-fbfront", "xen-kbdfront"] if self.framebuffer else [])


BOOT_DISK = "DISK-VBD-UUID"  # shown until the VM's disk VBD is known (xe vbd-list below prints it)


def xe_to_pv(uuid: str, domain_type: bool = True) -> list[list[str]]:
    """The xe argv lists that make the VM boot PV through pygrub with its console on hvc0: domain-type=pv where the
    host has that field (XenServer 7.5 and later, XCP-ng), HVM-boot-policy= (empty) on older hosts."""
    mode = "domain-type=pv" if domain_type else "HVM-boot-policy="
    return [["xe", "vm-param-set", f"uuid={uuid}", mode, "PV-bootloader=pygrub", "PV-args=console=hvc0"],
            ["xe", "vm-param-remove", f"uuid={uuid}", "param-name=HVM-boot-params", "param-key=order"]]


def xe_disk_vbds(uuid: str) -> list[str]:
    """The xe argv list that prints the UUIDs of the VM's disk VBDs (comma-separated)."""
    return ["xe", "vbd-list", f"vm-uuid={uuid}", "type=Disk", "params=uuid", "--minimal"]


def xe_bootable(vbd: str = BOOT_DISK) -> list[str]:
    """The xe argv list that marks a disk VBD bootable, so pygrub reads the guest's boot menu from that disk."""
    return ["xe", "vbd-param-set", f"uuid={vbd}", "bootable=true"]


def xe_to_hvm(uuid: str) -> list[list[str]]:
    """The xe argv list that makes the VM boot HVM again (BIOS order: c, the disk, before d, the CD)."""
    return [["xe", "vm-param-set", f"uuid={uuid}", "HVM-boot-policy=BIOS order", "HVM-boot-params:order=cd",
             "PV-bootloader=", "PV-args="]]


@dataclass(frozen=True)
class XeCommands:
    """Both directions of the XAPI switch for one VM, as argv lists; shown as shell lines in a notebook."""

    uuid: str
    to_pv: list[list[str]]
    to_hvm: list[list[str]]

    def text(self) -> str:
        lines = ["# switch to PV (run on the pool master; takes effect when the VM next starts):"]
        lines += [shlex.join(a) for a in self.to_pv]
        lines += [f"# on hosts older than XenServer 7.5 (xe vm-param-get uuid={self.uuid} param-name=domain-type "
                  "fails there), the first line is instead:", shlex.join(xe_to_pv(self.uuid, domain_type=False)[0])]
        lines += [f"# mark the VM's disk bootable: {BOOT_DISK} is its VBD that the next line prints (userdevice 0 "
                  "when there are several)", shlex.join(xe_disk_vbds(self.uuid)), shlex.join(xe_bootable())]
        lines += ["# back to HVM (boot order cd: the disk, then the CD):"] + [shlex.join(a) for a in self.to_hvm]
        return "\n".join(lines + [f"# warning: {PV_WARNING}"])

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return (f"<p><b>xe commands for VM {html.escape(self.uuid)}</b> (argv lists; each shell line quotes them)"
                f"</p><pre>{html.escape(self.text())}</pre>")


def xe_commands(vm_uuid: str | None) -> XeCommands:
    """The switch commands for vm_uuid (a placeholder when None); ParameterError for a value that is no UUID."""
    uuid = build(PvGuestParams, {"vm_uuid": vm_uuid}).vm_uuid or "VM-UUID"
    return XeCommands(uuid, xe_to_pv(uuid), xe_to_hvm(uuid))


# The form's layout (xenbook.ui reads it): groups of fields, labels for people, and when a field applies.
FORM = {
    "groups": {"Boot and console": ["loader", "framebuffer", "serial_getty", "xenfs"],
               "Guest agent": ["agent", "agent_source"],
               "XenServer or XCP-ng": ["vm_uuid", "pool_master", "xe_apply"]},
    "labels": {"loader": "guest boot", "framebuffer": "PV framebuffer", "serial_getty": "login on hvc0",
               "xenfs": "mount xenfs", "agent": "guest agent", "agent_source": "agent from", "vm_uuid": "VM UUID",
               "pool_master": "pool master", "xe_apply": "switch on the pool"},
    "shown_when": {"agent_source": [{"agent": {"not": ["none"]}}],
                   "pool_master": [{"vm_uuid": {"set": True}}, {"pool_master": {"set": True}}],
                   "xe_apply": [{"vm_uuid": {"set": True}}, {"xe_apply": {"not": ["none"]}}]},
}
