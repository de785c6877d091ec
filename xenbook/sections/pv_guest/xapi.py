"""XenServer / XCP-ng: the xe commands that make a VM boot PV through pygrub (or HVM again), run on the pool master."""

from __future__ import annotations

import shlex
from typing import Callable

from xenbook.connectors.targets import open_host
from xenbook.core.actions import Plan, RunCommand
from xenbook.core.commands import Command, Result
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.sections.pv_guest.params import BOOT_DISK, PV_WARNING, PvGuestParams, xe_bootable, xe_disk_vbds, xe_to_hvm, xe_to_pv

SECTION = "pv-guest"
FIELDS = ("HVM-boot-policy", "HVM-boot-params", "PV-bootloader", "PV-args")


def parse_map(text: str) -> dict[str, str]:
    """An xe map parameter ("order: dc; firmware: bios") as a dict."""
    pairs = [p.partition(":") for p in text.strip().split(";") if p.strip()]
    return {k.strip(): v.strip() for k, _, v in pairs}


def opener(target: str) -> Host:
    return open_host(target)


def _xe(master: Host, argv: list[str]) -> str | Result:
    """xe's answer, or the failure's text (the command, its exit code and the tail of its output)."""
    result = master.run(Command(tuple(argv)))
    if result.ok:
        return result
    return f"{shlex.join(argv)} exited {result.returncode}: " + (result.stderr or result.stdout).strip()[-300:]


class XapiBootMode(Step):
    """The xe commands for both directions are in the report; with xe_apply the VM boots as asked at its next start."""

    section = SECTION

    def __init__(self, params: PvGuestParams, open_master: Callable[[str], Host] = opener):
        self.params, self.open_master = params, open_master
        self._master: Host | None = None

    def master(self) -> Host:
        if self._master is None:
            self._master = self.open_master(self.params.pool_master or "")
        return self._master

    def read(self, master: Host, uuid: str) -> dict[str, str | None] | str:
        """The VM's boot fields from xe vm-param-get (domain-type None on hosts without it), or the failure's text."""
        out: dict[str, str | None] = {}
        for field in FIELDS:
            result = _xe(master, ["xe", "vm-param-get", f"uuid={uuid}", f"param-name={field}"])
            if isinstance(result, str):
                return result
            out[field] = result.stdout.strip()
        # domain-type came with XenServer 7.5 (HVM-boot-policy is deprecated there); older hosts refuse the field
        result = master.run(Command.of("xe", "vm-param-get", f"uuid={uuid}", "param-name=domain-type"))
        out["domain-type"] = result.stdout.strip() if result.ok else None
        return out

    def boot_disk(self, master: Host, uuid: str) -> tuple[str, bool] | str | None:
        """(VBD UUID, bootable) of the VM's first disk (the lowest userdevice), None without a disk, or the failure."""
        listed = _xe(master, xe_disk_vbds(uuid))
        if isinstance(listed, str):
            return listed
        disks = []
        for vbd in (v.strip() for v in listed.stdout.strip().split(",") if v.strip()):
            fields = {}
            for field in ("userdevice", "bootable"):
                result = _xe(master, ["xe", "vbd-param-get", f"uuid={vbd}", f"param-name={field}"])
                if isinstance(result, str):
                    return result
                fields[field] = result.stdout.strip()
            device = int(fields["userdevice"]) if fields["userdevice"].isdigit() else 1 << 16
            disks.append((device, vbd, fields["bootable"] == "true"))
        if not disks:
            return None
        _device, vbd, bootable = min(disks)
        return vbd, bootable

    def plan(self, host: Host) -> Plan:
        p, uuid = self.params, self.params.vm_uuid or ""
        to_pv, to_hvm = xe_to_pv(uuid) + [xe_disk_vbds(uuid), xe_bootable()], xe_to_hvm(uuid)
        facts = {"xapi": {"vm_uuid": uuid, "to_pv": to_pv, "to_hvm": to_hvm}}
        shown = (f"to PV: {'; '.join(shlex.join(a) for a in to_pv)} (on hosts older than XenServer 7.5, "
                 f"{shlex.join(xe_to_pv(uuid, domain_type=False)[0])}; {BOOT_DISK} is the disk VBD that xe vbd-list "
                 f"prints). Back to HVM: {'; '.join(shlex.join(a) for a in to_hvm)}")
        if p.xe_apply == "none":
            return Plan.check("warning", f"VM {uuid}", f"run on the pool master, {shown}. {PV_WARNING}",
                              "set pool_master (ssh:root@MASTER) and xe_apply pv or hvm to run them from here, "
                              "or run them on the pool master by hand", facts=facts)
        master = self.master()
        now = self.read(master, uuid)
        disk = self.boot_disk(master, uuid) if p.xe_apply == "pv" and isinstance(now, dict) else ("", True)
        if isinstance(now, str) or isinstance(disk, str):
            return Plan.fail(f"cannot read VM {uuid} on {p.pool_master}: {now if isinstance(now, str) else disk}",
                             "check the UUID (xe vm-list params=uuid,name-label) and that the pool master "
                             "answers over SSH as root")
        if disk is None:
            return Plan.fail(f"VM {uuid} has no disk VBD (xe vbd-list vm-uuid={uuid} type=Disk lists none): pygrub "
                             "reads the guest's boot menu from a disk", "attach the guest's disk to the VM, then run "
                             "again")
        params = parse_map(now["HVM-boot-params"] or "")
        if p.xe_apply == "pv":
            typed = now["domain-type"] is not None
            switch, remove_order = xe_to_pv(uuid, domain_type=typed)
            fields_done = ((now["domain-type"] == "pv" if typed else now["HVM-boot-policy"] == "")
                           and now["PV-bootloader"] == "pygrub" and "console=hvc0" in (now["PV-args"] or "").split())
            vbd, bootable = disk
            argvs = (([] if fields_done else [switch]) + ([remove_order] if "order" in params else [])
                     + ([] if bootable else [xe_bootable(vbd)]))
            facts["xapi"]["to_pv"] = [switch, remove_order, xe_bootable(vbd)]
        else:
            done = (now["HVM-boot-policy"] == "BIOS order" and now["PV-bootloader"] == "" and now["PV-args"] == ""
                    and params.get("order") == "cd")
            argvs = [] if done else to_hvm
        mode = "PV through pygrub" if p.xe_apply == "pv" else "HVM (BIOS order cd: the disk, then the CD)"
        if not argvs:
            plan = Plan.ok(f"VM {uuid} already boots {mode}. Commands: {shown}")
        else:
            plan = Plan.change(f"make VM {uuid} boot {mode} at its next start (shut it down, then start it); "
                               + (PV_WARNING if p.xe_apply == "pv" else "the switch back to HVM"),
                               *[RunCommand(Command(tuple(a)), host=master,
                                            remedy="revert with the HVM commands in this step's facts, and check "
                                                   "the VM's parameters with xe vm-param-list uuid=" + uuid)
                                 for a in argvs])
        plan.facts = facts
        return plan
