"""xl.cfg(5) domain configurations and xl.conf(5) settings, rendered from plain data with safe quoting."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_SAFE = re.compile(r"^[A-Za-z0-9 _.,:=/@%+^-]*$")


def quote(value: str) -> str:
    """A double-quoted xl.cfg string; ValueError for characters xenbook never writes (quotes, newlines, \\)."""
    if not _SAFE.match(value):
        raise ValueError(f"{value!r} holds a character xenbook does not put in an xl config")
    return f'"{value}"'


def render_list(items: list[str]) -> str:
    for item in items:
        if not _SAFE.match(item):
            raise ValueError(f"{item!r} holds a character xenbook does not put in an xl config")
    return "[ " + ", ".join(f"'{i}'" for i in items) + " ]"


def disk_spec(target: str, vdev: str = "xvda", fmt: str = "raw", access: str = "rw") -> str:
    """An xl-disk-configuration(5) spec; target= comes last because it takes the rest of the string."""
    return f"format={fmt}, vdev={vdev}, access={access}, target={target}"


def vif_spec(mac: str, bridge: str, model: str | None = None) -> str:
    """An xl-network-configuration(5) spec."""
    return f"mac={mac}, bridge={bridge}" + (f", model={model}" if model else "")


def derived_mac(name: str, machine_id: str | None = None) -> str:
    """A stable MAC in Xen's 00:16:3e range (lower half) derived from the dom0's machine ID and the guest's name, so
    guests of one name on many hosts differ (without machine_id, from the name alone: what older releases wrote)."""
    digest = hashlib.sha256((name if machine_id is None else f"{machine_id}:{name}").encode()).digest()
    return "00:16:3e:%02x:%02x:%02x" % (digest[0] & 0x7F, digest[1], digest[2])


@dataclass(frozen=True)
class DomainConfig:
    """The keys of one guest's xl.cfg that xenbook writes."""

    name: str
    type: str  # pvh, pv or hvm
    memory: int
    maxmem: int
    vcpus: int
    disks: tuple[str, ...]
    vifs: tuple[str, ...]
    cpus: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    firmware: str | None = None  # hvm: bios or uefi
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (key, already rendered value)


def render_domain(c: DomainConfig, header: str = "") -> str:
    """The whole xl.cfg for c, in a stable key order."""
    if c.maxmem < c.memory:
        raise ValueError(f"maxmem ({c.maxmem}) must be at least memory ({c.memory})")
    lines = [f"name = {quote(c.name)}", f"type = {quote(c.type)}", f"memory = {c.memory}",
             f"maxmem = {c.maxmem}", f"vcpus = {c.vcpus}"]
    if c.cpus:
        lines.append(f"cpus = {quote(c.cpus)}")
    for key in ("kernel", "ramdisk", "cmdline", "firmware"):
        value = getattr(c, key)
        if value:
            lines.append(f"{key} = {quote(value)}")
    lines += [f"disk = {render_list(list(c.disks))}", f"vif = {render_list(list(c.vifs))}"]
    lines += [f"{k} = {v}" for k, v in c.extra]
    lines += ['on_poweroff = "destroy"', 'on_reboot = "restart"', 'on_crash = "restart"']
    return header + "\n".join(lines) + "\n"


_SETTING = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.]*)\s*=")


def active_keys(text: str) -> dict[str, int]:
    """Keys set by uncommented lines of an xl.conf-style file, with their line numbers."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _SETTING.match(line)
        if m:
            out[m.group(1)] = n
    return out


def render_settings(pairs: list[tuple[str, str]]) -> str:
    """key="value" lines for xl.conf."""
    return "".join(f"{k}={quote(v)}\n" for k, v in pairs)
