"""The manage section's parameters: the dashboard's refresh, one domain action, and the toolstack manager."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from xenbook.core.model import Model, size_mib

ACTIONS = ("start", "shutdown", "reboot", "destroy", "pause", "unpause", "vcpu-pin", "mem-set", "autostart-on",
           "autostart-off")
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CPUS = re.compile(r"^(all|\^?[0-9]+(-[0-9]+)?)(,\^?[0-9]+(-[0-9]+)?)*$")


class ManageParams(Model):
    """The dashboard (refresh, unattended snapshot), a domain action, and xl or libvirt as the manager."""

    refresh_seconds: float = Field(2.0, ge=0.5, le=3600, description="seconds between the dashboard's refreshes")
    samples: int = Field(4, ge=1, le=1000, description="refreshes an unattended run collects for its charts")
    snapshot: bool = Field(True, description="write the table and charts to /var/lib/xenbook/dashboard "
                                             "for the host report (not in dry runs)")
    snapshot_every: int = Field(600, ge=0, le=10 ** 7, description="keep a snapshot younger than this many "
                                                                    "seconds (a run with an action takes a new one); "
                                                                    "0 takes one every run")
    action: Literal["", "start", "shutdown", "reboot", "destroy", "pause", "unpause", "vcpu-pin", "mem-set",
                    "autostart-on", "autostart-off"] = Field("", description="a domain action; empty for none")
    domain: str = Field("", description="the domain the action is for")
    confirm: str = Field("", description="destroy only: the domain's name again")
    vcpu: str = Field("all", description="vcpu-pin: the guest's vCPU number, or all")
    cpus: str = Field("", description="vcpu-pin: physical CPUs, e.g. 2-3 or all,^0-1")
    memory: str = Field("", description="mem-set: the new memory target, e.g. 768M or 2G")
    manager: Literal["xl", "libvirt"] = Field(
        "xl", description="xl with xendomains, or libvirt's Xen driver and virt-manager (they conflict)")
    libvirt_package: Literal["libvirt-xen", "libvirt"] = Field(
        "libvirt-xen", description="libvirt-xen from the AUR (built with the libxl driver), or the repositories' "
                                   "libvirt (may lack it)")
    virt_manager: bool = Field(True, description="also install virt-manager (manager libvirt)")

    @field_validator("action", "domain", "confirm", "cpus", "memory", mode="before")
    @classmethod
    def _empty(cls, v):
        return "" if v is None else v  # forms send None for an empty field

    @field_validator("domain", "confirm")
    @classmethod
    def _name(cls, v: str) -> str:
        v = v.strip()
        if v and not _DOMAIN.fullmatch(v):
            raise ValueError("must be a domain name: letters, digits, '_', '.' or '-', at most 64")
        return v

    @field_validator("vcpu")
    @classmethod
    def _vcpu(cls, v: str) -> str:
        if v != "all" and not v.isdigit():
            raise ValueError("must be a vCPU number such as 0, or all")
        return v

    @field_validator("cpus")
    @classmethod
    def _cpus(cls, v: str) -> str:
        if v and not _CPUS.fullmatch(v):
            raise ValueError("must be a CPU list such as 2-3, 0,2 or all,^0-1")
        return v

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if v:
            size_mib(v)
            return v.upper()
        return v

    @model_validator(mode="after")
    def _action_needs(self):
        if self.action and not self.domain:
            raise ValueError(f"action {self.action} needs domain")
        if self.action == "vcpu-pin" and not self.cpus:
            raise ValueError("action vcpu-pin needs cpus, e.g. 2-3")
        if self.action == "mem-set" and not self.memory:
            raise ValueError("action mem-set needs memory, e.g. 768M")
        if self.action == "destroy" and self.confirm != self.domain:
            raise ValueError(f"action destroy pulls the plug on {self.domain} (no clean shutdown, unsaved data is "
                             f"lost) and is not confirmed: set confirm to {self.domain}, the domain's name, to "
                             f"destroy it (confirm is {self.confirm!r})")
        return self


# The form's layout (xenbook.ui reads it): groups of fields, labels for people, and when a field applies. An action
# and its arguments hold for the run they are given to: never saved into the parameters file.
FORM = {
    "groups": {"Dashboard": ["refresh_seconds", "samples", "snapshot", "snapshot_every"],
               "Domain action": ["action", "domain", "confirm", "vcpu", "cpus", "memory"],
               "Manager": ["manager", "libvirt_package", "virt_manager"]},
    "labels": {"refresh_seconds": "refresh (s)", "samples": "samples", "snapshot": "save a snapshot",
               "snapshot_every": "snapshot every (s)", "action": "action", "domain": "domain",
               "confirm": "confirm (its name)", "vcpu": "vCPU", "cpus": "physical CPUs", "memory": "memory",
               "manager": "manager", "libvirt_package": "libvirt package", "virt_manager": "virt-manager"},
    "shown_when": {"domain": [{"action": {"set": True}}], "confirm": [{"action": ["destroy"]}],
                   "vcpu": [{"action": ["vcpu-pin"]}], "cpus": [{"action": ["vcpu-pin"]}],
                   "memory": [{"action": ["mem-set"]}], "snapshot_every": [{"snapshot": [True]}],
                   "libvirt_package": [{"manager": ["libvirt"]}], "virt_manager": [{"manager": ["libvirt"]}]},
    "not_saved": ["action", "domain", "confirm", "vcpu", "cpus", "memory"],
}
