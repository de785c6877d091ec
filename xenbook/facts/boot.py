"""Facts about how a host boots: mounts, kernels, the Xen image, the kernel's build configuration."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass

from ..commands import Command
from ..errors import HostError
from ..hosts.base import Host

_SUBVOL = re.compile(r"^(?P<dev>[^\[]+)\[(?P<sub>/[^\]]*)\]$")


@dataclass(frozen=True)
class Mount:
    """One mounted filesystem as findmnt reports it."""

    target: str
    source: str
    fstype: str
    uuid: str
    subvolume: str = ""  # btrfs: the subvolume path, e.g. /@

    @property
    def device(self) -> str:
        return self.source


def mounts(host: Host) -> dict[str, Mount]:
    """Mounted filesystems by mount point, from findmnt's JSON."""
    result = host.run(Command.of("findmnt", "-J", "-l", "-o", "TARGET,SOURCE,FSTYPE,UUID"))
    if not result.ok:
        raise HostError(f"findmnt exited {result.returncode}: {result.stderr.strip()}")
    try:
        rows = json.loads(result.stdout)["filesystems"]
    except (ValueError, KeyError, TypeError) as e:
        raise HostError(f"findmnt printed something that is not its JSON: {e}") from e
    out = {}
    for row in rows:
        source, sub = row.get("source") or "", ""
        m = _SUBVOL.match(source)
        if m:
            source, sub = m.group("dev"), m.group("sub")
        out[row["target"]] = Mount(row["target"], source, row.get("fstype") or "", row.get("uuid") or "",
                                   "" if sub == "/" else sub)
    return out


@dataclass(frozen=True)
class BootLayout:
    """Where GRUB finds the boot files and what dom0's root= should say."""

    boot: Mount  # the filesystem holding /boot
    root: Mount
    prefix: str  # path of /boot's files as GRUB sees them on that filesystem: "" or "/boot" (or "/@/boot")

    @property
    def root_arg(self) -> str:
        if self.root.source.startswith("/dev/mapper/"):
            return f"root={self.root.source}"
        if not self.root.uuid:
            raise HostError(f"the root filesystem {self.root.source} has no UUID; cannot name it in a boot entry")
        return f"root=UUID={self.root.uuid}"

    def grub_path(self, name: str) -> str:
        return f"{self.prefix}/{name}"


def boot_layout(host: Host) -> BootLayout:
    found = mounts(host)
    if "/" not in found:
        raise HostError("findmnt lists no root filesystem")
    root = found["/"]
    if "/boot" in found:
        boot = found["/boot"]
        prefix = boot.subvolume
    else:
        boot = root
        prefix = f"{root.subvolume}/boot"
    if not boot.uuid:
        raise HostError(f"the filesystem holding /boot ({boot.source}) has no UUID for GRUB's search")
    return BootLayout(boot, root, prefix)


def kernel_config(host: Host) -> dict[str, str] | None:
    """The running kernel's build options from /proc/config.gz, or None when it is not there."""
    data = host.read_bytes("/proc/config.gz")
    if data is None:
        return None
    try:
        text = gzip.decompress(data).decode("utf-8", "replace")
    except (OSError, EOFError) as e:
        raise HostError(f"/proc/config.gz is not gzip data: {e}") from e
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def dom0_capable(config: dict[str, str] | None) -> bool | None:
    """True when the kernel can be dom0, None when unknown."""
    if config is None:
        return None
    return config.get("CONFIG_XEN_DOM0") == "y" or config.get("CONFIG_XEN_PRIVILEGED_GUEST") == "y"


MICROCODE = ("intel-ucode.img", "amd-ucode.img")


def microcode_images(host: Host) -> list[str]:
    """Early microcode images in /boot, in the order Arch's GRUB scripts use."""
    return [name for name in MICROCODE if host.exists(f"/boot/{name}")]
