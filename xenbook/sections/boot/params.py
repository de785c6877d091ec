"""The boot section's parameters: the Xen boot entry, the hypervisor's command line for dom0, which kernel."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from xenbook.core.model import Model, size_mib

CONSOLES = ("vga", "com1", "com2", "pv", "dbgp", "ehci", "xhci", "none")
_CONSOLE = re.compile(r"^(vga|com[12][HL]?|pv|dbgp|ehci|xhci|none)$")
_COM = re.compile(r"^(auto|[1-9][0-9]{1,6})(,[5-8][noems][12])?(,[0-9a-fx]+)?$")
_XEN_OPTION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(=[A-Za-z0-9_.,:+%/@-]+)?$")
_KERNEL_ARG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.,:+=/@%-]*$")
_KERNEL_PKG = re.compile(r"^linux(-[a-z0-9]+)*$")
_OWN_KEYS = {"dom0_mem": "dom0_mem", "dom0_max_vcpus": "dom0_max_vcpus", "dom0_vcpus_pin": "dom0_vcpus_pin",
             "console": "console", "com1": "com1", "loglvl": "loglvl", "guest_loglvl": "guest_loglvl"}


class BootParams(Model):
    """The Xen boot entry: hypervisor command line for dom0, which kernel, how the entry is made."""

    words_fields = frozenset({"dom0_kernel_options"})

    loader: Literal["auto", "grub2", "grub-legacy", "uefi"] = Field(
        "auto", description="boot path: auto detects it; grub2, grub-legacy or uefi force one")
    dom0_mem: str = Field("2048M", description="fixed dom0 memory, also its maximum (Xen's dom0_mem N,max:N), e.g. 2048M or 4G")
    dom0_max_vcpus: int | None = Field(2, ge=1, le=1024, description="vCPUs for dom0; empty for all")
    dom0_vcpus_pin: bool = Field(False, description="pin dom0 vCPUs to the matching physical CPUs")
    console: str = Field("vga", description="Xen console list: vga, com1, com2, pv, dbgp, ehci, xhci, none")
    com1: str | None = Field(None, description="serial settings when console has com1, e.g. 115200,8n1")
    loglvl: Literal["none", "error", "warning", "info", "debug", "all"] | None = Field(
        None, description="Xen log level; empty keeps Xen's default")
    guest_loglvl: Literal["none", "error", "warning", "info", "debug", "all"] | None = Field(
        None, description="Xen log level for guest messages")
    xen_options: list[str] = Field(default_factory=list, description="more Xen options for its command line, each NAME or NAME and its value")
    kernel: str = Field("linux", description="dom0 kernel package: linux, linux-lts, linux-zen, ...")
    dom0_kernel_options: str | None = Field(
        None, description="dom0 kernel options; empty takes GRUB_CMDLINE_LINUX[_DEFAULT] from /etc/default/grub")
    make_default: bool = Field(True, description="make the Xen entry the default boot entry")
    first_boot: Literal["once", "default"] | None = Field(
        None, description="once: the new entry boots once (grub-reboot, bootctl set-oneshot or efibootmgr --bootnext) "
                          "and becomes the default only after Xen came up as dom0; default: it is the default at once; "
                          "empty: once on ssh targets, default on the others")
    uefi_entry: Literal["systemd-boot", "efibootmgr"] = Field(
        "systemd-boot", description="UEFI without GRUB: a systemd-boot entry, or a firmware (NVRAM) entry")

    @field_validator("dom0_mem")
    @classmethod
    def _mem(cls, v: str) -> str:
        mib = size_mib(v)
        if mib < 256:
            raise ValueError("must be at least 256M: dom0 does not boot with less")
        if mib > 16 * 1024 * 1024:
            raise ValueError("must be at most 16T")
        return v.upper()

    @field_validator("console")
    @classmethod
    def _console(cls, v: str) -> str:
        items = v.split(",")
        for item in items:
            if not _CONSOLE.fullmatch(item):
                raise ValueError(f"unknown console {item!r}; use a comma list of {', '.join(CONSOLES)} "
                                 "(com1 and com2 may end in H or L)")
        if len(set(items)) != len(items):
            raise ValueError("lists a console twice")
        return v

    @field_validator("com1")
    @classmethod
    def _com1(cls, v: str | None) -> str | None:
        if v is not None and not _COM.fullmatch(v):
            raise ValueError("must be BAUD[,DPS[,IO]], e.g. 115200,8n1 or auto")
        return v

    @field_validator("xen_options")
    @classmethod
    def _xen_options(cls, v: list[str]) -> list[str]:
        for item in v:
            if not _XEN_OPTION.fullmatch(item):
                raise ValueError(f"{item!r} is not NAME or NAME=VALUE made of letters, digits and _.,:+%/@-")
            key = item.split("=", 1)[0]
            if key in _OWN_KEYS:
                raise ValueError(f"{key} has its own parameter ({_OWN_KEYS[key]}); set it there")
        return v

    @field_validator("kernel")
    @classmethod
    def _kernel(cls, v: str) -> str:
        if not _KERNEL_PKG.fullmatch(v):
            raise ValueError("must be an Arch kernel package name such as linux or linux-lts")
        return v

    @field_validator("dom0_kernel_options")
    @classmethod
    def _kernel_options(cls, v: str | None) -> str | None:
        if v is None:
            return v
        for word in v.split():
            if not _KERNEL_ARG.fullmatch(word):
                raise ValueError(f"{word!r} holds a character that is not allowed in a boot entry")
            if word.startswith("root="):
                raise ValueError("root= is found from the host's mounts; leave it out")
        return " ".join(v.split())

    @model_validator(mode="after")
    def _com1_needs_console(self):
        if self.com1 and "com1" not in self.console:
            raise ValueError("com1 is set but console does not list com1")
        return self


# The form's layout (xenbook.ui reads it): groups of fields, labels for people, and when a field applies: any of
# its clauses holds, each a mapping of field (or host:FACT) to the values it may have, or {"has": item of a list}.
FORM = {
    "groups": {"Boot entry": ["loader", "uefi_entry", "make_default", "first_boot", "kernel", "dom0_kernel_options"],
               "Memory and CPUs": ["dom0_mem", "dom0_max_vcpus", "dom0_vcpus_pin"],
               "Console and logs": ["console", "com1", "loglvl", "guest_loglvl"],
               "More Xen options": ["xen_options"]},
    "labels": {"loader": "boot loader", "uefi_entry": "UEFI entry", "make_default": "make it the default",
               "first_boot": "first boot",
               "kernel": "dom0 kernel", "dom0_kernel_options": "dom0 kernel options", "dom0_mem": "dom0 memory",
               "dom0_max_vcpus": "dom0 vCPUs", "dom0_vcpus_pin": "pin dom0 vCPUs", "console": "Xen console",
               "com1": "com1 serial", "loglvl": "Xen log level", "guest_loglvl": "guest log level",
               "xen_options": "Xen options"},
    "shown_when": {"com1": [{"console": {"has": "com1"}}],
                   "uefi_entry": [{"loader": ["uefi"]},
                                  {"loader": ["auto"], "host:boot_mode": ["uefi"],
                                   "host:boot_loader": ["systemd-boot", None]}]},
}
