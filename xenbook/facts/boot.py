"""Facts about how a host boots: mounts, kernels, the Xen image, the kernel's build configuration."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass

from xenbook.core.commands import Command
from xenbook.core.errors import HostError
from xenbook.core.host import Host

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

    @property
    def root_flags(self) -> str:
        """rootflags=subvol=NAME when / is a btrfs subvolume (NAME without its leading slash, as GRUB's 10_linux
        and 20_linux_xen write it), else ""."""
        sub = self.root.subvolume.removeprefix("/") if self.root.fstype == "btrfs" else ""
        return f"rootflags=subvol={sub}" if sub else ""

    def grub_path(self, name: str) -> str:
        return f"{self.prefix}/{name}"


def boot_layout(host: Host) -> BootLayout:
    found = host.fact(mounts)  # findmnt once per plan (esp_path reads it too)
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


def boot_mode(host: Host) -> str:
    """uefi when the kernel was started by UEFI firmware, else bios."""
    return host.fact(_boot_mode)


def _boot_mode(host: Host) -> str:
    return "uefi" if host.exists("/sys/firmware/efi") else "bios"


ESP_CANDIDATES = ("/boot", "/efi", "/boot/efi")


def esp_path(host: Host) -> str | None:
    """Where the EFI system partition is mounted (a vfat mount at /boot, /efi or /boot/efi), or None."""
    found = host.fact(mounts)
    for path in ESP_CANDIDATES:
        if path in found and found[path].fstype == "vfat":
            return path
    return None


def boot_loaders(host: Host) -> list[str]:
    """Every boot loader whose files are on the host: systemd-boot, grub2, grub-legacy, syslinux."""
    found = []
    esp = esp_path(host)
    if esp and (host.exists(f"{esp}/loader/loader.conf") or host.exists(f"{esp}/EFI/systemd/systemd-bootx64.efi")):
        found.append("systemd-boot")
    if host.exists("/boot/grub/grub.cfg") or host.exists("/etc/default/grub"):
        found.append("grub2")
    if host.exists("/boot/grub/menu.lst") and not host.exists("/boot/grub/grub.cfg"):
        found.append("grub-legacy")
    if host.exists("/boot/syslinux/syslinux.cfg"):
        found.append("syslinux")
    return found


def boot_loader(host: Host) -> str | None:
    """The loader that most likely boots the host: on UEFI systemd-boot before GRUB 2; on BIOS GRUB 2 first."""
    found = boot_loaders(host)
    order = ("systemd-boot", "grub2") if boot_mode(host) == "uefi" else ("grub2", "grub-legacy", "syslinux")
    return next((name for name in order if name in found), None)


_NOT_CARRIED = ("BOOT_IMAGE=", "root=", "initrd=", "rw", "ro")


def running_kernel_options(host: Host) -> str:
    """The running kernel's options from /proc/cmdline, without the ones a boot entry sets itself."""
    words = (host.read_text("/proc/cmdline") or "").split()
    return " ".join(w for w in words if not (w in _NOT_CARRIED or w.startswith(_NOT_CARRIED[:3])))


def block_devices(host: Host) -> list[dict]:
    """Disks and partitions as lsblk lists them (name, path, type, pkname, partn)."""
    return host.fact(_block_devices)


def _block_devices(host: Host) -> list[dict]:
    result = host.run(Command.of("lsblk", "-J", "-l", "-o", "NAME,PATH,TYPE,PKNAME,PARTN"))
    if not result.ok:
        raise HostError(f"lsblk exited {result.returncode}: {result.stderr.strip()}")
    try:
        return json.loads(result.stdout)["blockdevices"]
    except (ValueError, KeyError) as e:
        raise HostError(f"lsblk printed something that is not its JSON: {e}") from e


def partition_of(host: Host, device: str) -> tuple[str, int, int]:
    """(disk device, partition number, disk index in name order) of a partition such as /dev/sda2."""
    devices = block_devices(host)
    part = next((d for d in devices if d.get("path") == device), None)
    if part is None or not part.get("pkname") or not part.get("partn"):
        raise HostError(f"cannot tell which disk and partition {device} is (lsblk does not list it as a partition)")
    disks = sorted(d["name"] for d in devices if d.get("type") == "disk")
    return f"/dev/{part['pkname']}", int(part["partn"]), disks.index(part["pkname"])
