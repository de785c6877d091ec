"""Facts about Xen on a host: whether it runs under Xen (and as dom0), `xl info`, the installed Xen version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.facts.cpu import cpu_info
from xenbook.facts.packages import pacman_missing

HYPERVISOR_TYPE = "/sys/hypervisor/type"
CAPABILITIES = "/proc/xen/capabilities"
FEATURES = "/sys/hypervisor/properties/features"
XENFEAT_DOM0 = 1 << 11
PACMAN_DB = "/var/lib/pacman/local"


def _read(host: Host, path: str) -> str | None:
    try:
        return host.read_text(path)
    except HostError:  # root-only files: unknown rather than an error
        return None


@dataclass(frozen=True)
class XenState:
    """Whether the running kernel is a Xen guest, and whether it is the control domain."""

    on_xen: bool
    dom0: bool

    @property
    def role(self) -> str:
        return "dom0" if self.dom0 else "domU" if self.on_xen else "none"


def xen_state(host: Host) -> XenState:
    """on_xen from /sys/hypervisor/type; dom0 from /proc/xen/capabilities (control_d) or the XENFEAT_dom0 bit."""
    on_xen = (_read(host, HYPERVISOR_TYPE) or "").strip() == "xen"
    if not on_xen:
        return XenState(False, False)
    caps = _read(host, CAPABILITIES)
    if caps is not None:
        return XenState(True, "control_d" in caps.split())
    features = (_read(host, FEATURES) or "").strip()
    try:
        return XenState(True, bool(int(features, 16) & XENFEAT_DOM0))
    except ValueError:
        return XenState(True, False)


@dataclass(frozen=True)
class XlInfo:
    """The parts of `xl info` the runbook uses."""

    xen_version: str
    virt_caps: list[str]
    total_memory_mib: int | None
    free_memory_mib: int | None
    nr_cpus: int | None
    xen_commandline: str


def parse_xl_info_fields(text: str) -> dict[str, str]:
    """`xl info`'s "key   : value" lines as a mapping (values may hold colons)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def parse_xl_info(text: str) -> XlInfo:
    """XlInfo from `xl info` output; xen_version is xen_major.xen_minor followed by xen_extra."""
    f = parse_xl_info_fields(text)
    version = f"{f['xen_major']}.{f['xen_minor']}{f.get('xen_extra', '')}" if "xen_major" in f and "xen_minor" in f \
        else f.get("xen_version", "")
    return XlInfo(version, f.get("virt_caps", "").split(), _int(f.get("total_memory")),
                  _int(f.get("free_memory")), _int(f.get("nr_cpus")), f.get("xen_commandline", ""))


def xl_info(host: Host) -> XlInfo | None:
    """`xl info` parsed, or None when xl fails (not installed, not root, xenstored not running)."""
    return host.fact(_xl_info)


def _xl_info(host: Host) -> XlInfo | None:
    result = host.run(Command.of("xl", "info"))
    return parse_xl_info(result.stdout) if result.ok and "xen_major" in result.stdout else None


_PACMAN_Q = re.compile(r"^xen (\S+)$", re.MULTILINE)


def xen_package_version(host: Host) -> str | None:
    """The installed `xen` package's version (pacman -Q xen; the local database when pacman is missing).

    Without pacman and without its local database nothing says what is installed: that raises HostError."""
    command = Command.of("pacman", "-Q", "xen")
    result = host.run(command)
    if result.ok:
        m = _PACMAN_Q.search(result.stdout)
        return m.group(1) if m else None
    if result.returncode == 1:  # error: package 'xen' was not found
        return None
    names = host.listdir(PACMAN_DB)
    if names is None:
        raise pacman_missing(command, result)
    for name in names:
        if name.startswith("xen-"):
            desc = _read(host, f"{PACMAN_DB}/{name}/desc") or ""
            fields = dict(re.findall(r"%([A-Z]+)%\n([^\n]*)", desc))
            if fields.get("NAME") == "xen":
                return fields.get("VERSION")
    return None


def version_tuple(version: str) -> tuple[int, ...]:
    """(4, 21, 2) from "4.21.2-1", "1:4.21.2-1" or "4.21.2-1arch"; () when it holds no version."""
    version = version.split(":", 1)[-1]
    m = re.match(r"^(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


def machine_cpus(host: Host) -> tuple[int, str] | None:
    """The machine's logical CPUs and where that was read: `xl info` nr_cpus as dom0, /proc/cpuinfo without Xen;
    None when unknown (under Xen, /proc/cpuinfo lists only this domain's vCPUs)."""
    state = xen_state(host)
    if state.on_xen:
        info = xl_info(host) if state.dom0 else None
        return (info.nr_cpus, "xl info nr_cpus") if info and info.nr_cpus else None
    cpu = cpu_info(host)
    return (cpu.count, "/proc/cpuinfo") if cpu and cpu.count else None
