"""XenServer / XCP-ng: the xe commands that make a VM boot PV through pygrub (or HVM again), run on the pool master."""

from __future__ import annotations

import shlex
from typing import Callable

from ..actions import Plan, RunCommand
from ..commands import Command
from ..hosts.base import Host
from ..pvguest import PV_WARNING, PvGuestParams, xe_to_hvm, xe_to_pv
from .base import Step

SECTION = "pv-guest"
FIELDS = ("HVM-boot-policy", "HVM-boot-params", "PV-bootloader", "PV-args")


def parse_map(text: str) -> dict[str, str]:
    """An xe map parameter ("order: dc; firmware: bios") as a dict."""
    pairs = [p.partition(":") for p in text.strip().split(";") if p.strip()]
    return {k.strip(): v.strip() for k, _, v in pairs}


def opener(target: str) -> Host:
    from ..targets import open_host
    return open_host(target)


class XapiBootMode(Step):
    """The xe commands for both directions are in the report; with xe_apply the VM boots as asked at its next start."""

    section, name = SECTION, "XapiBootMode"

    def __init__(self, params: PvGuestParams, open_master: Callable[[str], Host] = opener):
        self.params, self.open_master = params, open_master
        self._master: Host | None = None

    def master(self) -> Host:
        if self._master is None:
            self._master = self.open_master(self.params.pool_master or "")
        return self._master

    def read(self, master: Host, uuid: str) -> dict[str, str] | str:
        """The VM's boot fields from xe vm-param-get, or the failure's text."""
        out = {}
        for field in FIELDS:
            result = master.run(Command.of("xe", "vm-param-get", f"uuid={uuid}", f"param-name={field}"))
            if not result.ok:
                return f"xe vm-param-get uuid={uuid} param-name={field} exited {result.returncode}: " + (
                    result.stderr or result.stdout).strip()[-300:]
            out[field] = result.stdout.strip()
        return out

    def plan(self, host: Host) -> Plan:
        p, uuid = self.params, self.params.vm_uuid or ""
        to_pv, to_hvm = xe_to_pv(uuid), xe_to_hvm(uuid)
        facts = {"xapi": {"vm_uuid": uuid, "to_pv": to_pv, "to_hvm": to_hvm}}
        shown = (f"to PV: {'; '.join(shlex.join(a) for a in to_pv)}. Back to HVM: "
                 f"{'; '.join(shlex.join(a) for a in to_hvm)}")
        if p.xe_apply == "none":
            return Plan.check("warning", f"VM {uuid}", f"run on the pool master, {shown}. {PV_WARNING}",
                              "set pool_master (ssh:root@MASTER) and xe_apply pv or hvm to run them from here, "
                              "or run them on the pool master by hand", facts=facts)
        master = self.master()
        now = self.read(master, uuid)
        if isinstance(now, str):
            return Plan.fail(f"cannot read VM {uuid} on {p.pool_master}: {now}",
                             "check the UUID (xe vm-list params=uuid,name-label) and that the pool master "
                             "answers over SSH as root")
        params = parse_map(now["HVM-boot-params"])
        if p.xe_apply == "pv":
            done = (now["HVM-boot-policy"] == "" and now["PV-bootloader"] == "pygrub"
                    and "console=hvc0" in now["PV-args"].split() and "order" not in params)
            argvs = to_pv if "order" in params else to_pv[:1]
        else:
            done = (now["HVM-boot-policy"] == "BIOS order" and now["PV-bootloader"] == "" and now["PV-args"] == ""
                    and params.get("order") == "dc")
            argvs = to_hvm
        mode = "PV through pygrub" if p.xe_apply == "pv" else "HVM (BIOS order, disk first)"
        if done:
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
