"""Typed, validated parameters shared by notebooks, the CLI and one YAML file per host."""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from .errors import ParameterError
from .guests import GuestParams
from .manage import ManageParams
from .model import Model, size_mib  # noqa: F401  (size_mib is part of this module's interface)
from .pvguest import PvGuestParams
from .targets import parse_target

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
            if not _CONSOLE.match(item):
                raise ValueError(f"unknown console {item!r}; use a comma list of {', '.join(CONSOLES)} "
                                 "(com1 and com2 may end in H or L)")
        if len(set(items)) != len(items):
            raise ValueError("lists a console twice")
        return v

    @field_validator("com1")
    @classmethod
    def _com1(cls, v: str | None) -> str | None:
        if v is not None and not _COM.match(v):
            raise ValueError("must be BAUD[,DPS[,IO]], e.g. 115200,8n1 or auto")
        return v

    @field_validator("xen_options")
    @classmethod
    def _xen_options(cls, v: list[str]) -> list[str]:
        for item in v:
            if not _XEN_OPTION.match(item):
                raise ValueError(f"{item!r} is not NAME or NAME=VALUE made of letters, digits and _.,:+%/@-")
            key = item.split("=", 1)[0]
            if key in _OWN_KEYS:
                raise ValueError(f"{key} has its own parameter ({_OWN_KEYS[key]}); set it there")
        return v

    @field_validator("kernel")
    @classmethod
    def _kernel(cls, v: str) -> str:
        if not _KERNEL_PKG.match(v):
            raise ValueError("must be an Arch kernel package name such as linux or linux-lts")
        return v

    @field_validator("dom0_kernel_options")
    @classmethod
    def _kernel_options(cls, v: str | None) -> str | None:
        if v is None:
            return v
        for word in v.split():
            if not _KERNEL_ARG.match(word):
                raise ValueError(f"{word!r} holds a character that is not allowed in a boot entry")
            if word.startswith("root="):
                raise ValueError("root= is found from the host's mounts; leave it out")
        return " ".join(v.split())

    @model_validator(mode="after")
    def _com1_needs_console(self):
        if self.com1 and "com1" not in self.console:
            raise ValueError("com1 is set but console does not list com1")
        return self


_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_ABS_PATH = re.compile(r"^/[A-Za-z0-9_.+/-]*$")
_PIN = re.compile(r"^[a-z0-9@_+][a-z0-9@._+-]*:([0-9]+:)?[A-Za-z0-9._+~]+(-[0-9][0-9.]*)?$")


class PreflightParams(Model):
    """What the readiness checks expect of the host."""

    require_ready: bool = Field(False, description="fail the run when a check's verdict is blocking")
    hvm_guests: bool = Field(True, description="HVM or PVH guests are wanted: missing VT-x/AMD-V is blocking")
    min_boot_free_mib: int = Field(64, ge=1, le=1_000_000, description="free space /boot needs for Xen (MiB)")
    min_memory_mib: int = Field(4096, ge=1024, le=1 << 30,
                                description="less memory than this is a warning: dom0 and the guests share it (MiB)")


class InstallParams(Model):
    """Which Xen packages to build and install, and how."""

    xen_qemu: bool = Field(True, description="build xen-qemu (device model for HVM guests, qdisk backend)")
    xen_edk2: bool = Field(False, description="build xen-edk2 (OVMF UEFI firmware for HVM guests)")
    xen_grub_pvh: bool = Field(False, description="build xen-grub-pvh (GRUB image that boots PVH guests)")
    hvm_guests: bool = Field(True, description="install seabios (BIOS firmware for HVM guests)")
    build_user: str = Field("xenbook-build", description="unprivileged user that runs makepkg")
    create_build_user: bool = Field(True, description="create the build user when it does not exist")
    aur_helper: Literal["auto", "paru", "yay", "none"] = Field(
        "auto", description="AUR helper: auto uses paru or yay when installed, none uses git and makepkg")
    build_dir: str = Field("/var/lib/xenbook/build", description="where AUR sources are cloned and built")
    jobs: int | None = Field(None, ge=1, le=1024, description="parallel make jobs; empty for the CPU count")
    min_build_free_gib: int = Field(8, ge=1, le=100_000, description="free space the build needs (GiB)")
    versions: list[str] = Field(default_factory=list, description="pinned versions as NAME:VERSION, e.g. "
                                "xen:4.21.2-1 (or xen:4.21.2); unpinned packages take the current one")

    @field_validator("versions")
    @classmethod
    def _versions(cls, v: list[str]) -> list[str]:
        names = [item.partition(":")[0] for item in v]
        for item in v:
            if not _PIN.match(item):
                raise ValueError(f"{item!r} is not NAME:VERSION, e.g. xen:4.21.2-1")
        if len(set(names)) != len(names):
            raise ValueError("pins a package twice")
        return v

    @field_validator("build_user")
    @classmethod
    def _build_user(cls, v: str) -> str:
        if not _USER_NAME.match(v):
            raise ValueError("must be a user name: lower-case letters, digits, '_' or '-', at most 32")
        if v == "root":
            raise ValueError("makepkg refuses to run as root; name an unprivileged user")
        return v

    @field_validator("build_dir")
    @classmethod
    def _build_dir(cls, v: str) -> str:
        if not _ABS_PATH.match(v) or ".." in v.split("/") or v.rstrip("/") in ("", "/usr", "/etc", "/boot"):
            raise ValueError("must be an absolute path of letters, digits and _.+-/ without '..', "
                             "and not /, /usr, /etc or /boot")
        return v.rstrip("/")


class Dom0Params(Model):
    """dom0's services, toolstack settings and guest network."""

    xendomains: bool = Field(False, description="start guests in /etc/xen/auto at boot (conflicts with libvirtd)")
    xendomains_save: bool = Field(False, description="with xendomains: save guests to /var/lib/xen/save at host "
                                  "shutdown and restore them at boot (Xen's default); off shuts them down")
    network: Literal["auto", "systemd-networkd", "NetworkManager", "netctl", "none"] = Field(
        "auto", description="who configures the bridge; auto finds what the host uses, none leaves it")
    bridge: str = Field("xenbr0", description="the bridge guests join")
    uplink: str | None = Field(None, description="the NIC to put in the bridge; empty: the default route's")
    network_over_ssh: bool = Field(False, description="allow bridge changes on a host reached over SSH")

    @field_validator("bridge", "uplink")
    @classmethod
    def _ifname(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[a-z][a-z0-9_-]{0,14}$", v):
            raise ValueError("must be an interface name (lower-case letters, digits, _ or -, at most 15)")
        return v


SECTION_NAMES = ("preflight", "install", "boot", "dom0", "domu", "pv-guest", "manage")


class RunbookParams(Model):
    """Everything one host's runbook needs: the target, how to reach it, and each section's parameters."""

    target: str = Field("sample", description="local, ssh:[user@]host[:port], chroot:DIR, or sample[:DIR] (a "
                                              "simulated Arch host)")
    sudo: bool = Field(False, description="run commands through sudo on local and ssh targets")
    ssh_config: str | None = Field(None, description="path of an ssh_config file for ssh targets, or None for the "
                                                     "user's own")
    dry_run: bool = Field(True, description="True plans only (reads, never writes); False applies the changes")
    sections: list[str] | None = Field(None, description="sections to run, in runbook order; empty for all")
    preflight: PreflightParams = Field(default_factory=PreflightParams)
    install: InstallParams = Field(default_factory=InstallParams)
    boot: BootParams = Field(default_factory=BootParams)
    dom0: Dom0Params = Field(default_factory=Dom0Params)
    guests: list[GuestParams] = Field(default_factory=list, description="the guests of the domu section")
    pv_guest: PvGuestParams = Field(default_factory=PvGuestParams)
    manage: ManageParams = Field(default_factory=ManageParams)

    @field_validator("target")
    @classmethod
    def _target(cls, v: str) -> str:
        parse_target(v)
        return v

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            if name not in SECTION_NAMES:
                raise ValueError(f"unknown section {name!r}; choose from {', '.join(SECTION_NAMES)}")
        return v


M = TypeVar("M", bound=BaseModel)


def _problems(error: ValidationError, prefix: str = "") -> list[tuple[str, Any, str]]:
    out = []
    for e in error.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "is not a known parameter"
        out.append((prefix + loc if loc else prefix.rstrip(".") or "parameters", e.get("input"), msg))
    return out


def build(model: type[M], data: dict[str, Any] | None = None, prefix: str = "") -> M:
    """model(**data), or ParameterError naming each bad parameter, its value and the rule."""
    try:
        return model.model_validate(data or {})
    except ParameterError:
        raise
    except ValidationError as e:
        raise ParameterError(_problems(e, prefix)) from None


def load_file(path: str) -> dict[str, Any]:
    """The mapping in a YAML parameters file."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except OSError as e:
        raise ParameterError([("params", path, f"cannot be read: {e.strerror}")]) from None
    except yaml.YAMLError as e:
        raise ParameterError([("params", path, f"is not valid YAML: {e}")]) from None
    if not isinstance(data, dict):
        raise ParameterError([("params", path, "must hold a mapping of parameter names to values")])
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """base updated by override, nested mappings merged; None in override keeps base's value."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
