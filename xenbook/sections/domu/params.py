"""Typed parameters of one guest (domU): identity, resources, storage, bootstrap, network and secrets by reference."""

from __future__ import annotations

import re
import uuid
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from xenbook.core.errors import ParameterError
from xenbook.core.model import Model, abs_path, size_mib

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_IFNAME = re.compile(r"^[a-z][a-z0-9_-]{0,14}$")
_CPULIST = re.compile(r"^(all|nodes:\d+(-\d+)?|\^?\d+(-\d+)?)(,(\^?\d+(-\d+)?|all))*$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_PKG = re.compile(r"^[a-z0-9@_+][a-z0-9@._+-]{0,127}$")
_VG = re.compile(r"^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$")
_DEVICE = re.compile(r"^/dev/[A-Za-z0-9_./-]+$")
_SSH_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com) "
                      r"[A-Za-z0-9+/]+=*( [\x21-\x7e][\x20-\x7e]{0,200})?$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
NAMESPACE = uuid.UUID("6f3c1c9e-2a4b-4d6e-9f10-78a5b3c2d1e0")  # xenbook's, for UUIDs derived from guest names


def _path(v: str | None, what: str) -> str | None:
    try:
        return None if v is None else abs_path(v)
    except ValueError as e:
        raise ValueError(f"{what} {e}") from None


class GuestParams(Model):
    """One guest: created safely, bootstrapped with pacstrap (or copied), configured for Xen, started."""

    name: str = Field("dom01", description="guest name, unique on the host (letters, digits, _ and -)")
    type: Literal["pvh", "pv", "hvm"] = Field("pvh", description="pvh (recommended), pv, or hvm")
    memory: int = Field(1024, ge=64, le=4 * 1024 * 1024, description="memory in MiB")
    maxmem: int | None = Field(None, ge=64, le=4 * 1024 * 1024, description="maximum memory in MiB; empty: memory")
    vcpus: int = Field(2, ge=1, le=512, description="virtual CPUs")
    cpus: str | None = Field(None, description="physical CPUs it may run on, e.g. 2-7 or all,^0-1")
    storage: Literal["lvm", "image", "partition"] = Field("lvm", description="lvm volume, image file or partition")
    size: str = Field("20G", description="disk size for a new volume or image, e.g. 20G")
    grow: bool = Field(False, description="grow an existing volume or image to size, with the guest shut off "
                                          "(never shrinks)")
    volume_group: str = Field("vg0", description="LVM volume group for storage lvm")
    image_dir: str = Field("/var/lib/xen/images", description="folder of image files for storage image")
    image_format: Literal["raw", "qcow2"] = Field("raw", description="image format: raw (a sparse file)")
    device: str | None = Field(None, description="an existing partition for storage partition, e.g. /dev/sdb1")
    bootstrap: Literal["pacstrap", "copy", "none"] = Field("pacstrap", description="fill the disk how")
    copy_from: str | None = Field(None, description="root of a system to copy with rsync (bootstrap copy)")
    packages: list[str] = Field(default_factory=lambda: ["openssh"], description="packages beyond base and linux")
    boot: Literal["direct", "pvhgrub"] = Field("direct", description="direct kernel boot from dom0, or pvhgrub")
    fstab_device: Literal["uuid", "xvda"] = Field("uuid", description="name the root in fstab by UUID or /dev/xvda")
    bridge: str = Field("xenbr0", description="dom0 bridge for the guest's network")
    mac: str | None = Field(None, description="MAC address; empty keeps the guest's own or derives one from the "
                                              "name and the machine ID")
    hostname: str | None = Field(None, description="host name; empty uses the guest name")
    ssh_key: str | None = Field(None, description="public key allowed to log in as root")
    root_password_hash_file: str | None = Field(None, description="file holding root's password hash (crypt)")
    root_password_hash_env: str | None = Field(None, description="environment variable holding that hash")
    firmware: Literal["seabios", "ovmf"] = Field("seabios", description="HVM firmware")
    iso: str | None = Field(None, description="HVM install medium (an ISO path on the host)")
    autostart: bool = Field(False, description="start it at boot (link in /etc/xen/auto, needs xendomains)")
    start: bool = Field(True, description="start the guest with xl create")
    state: Literal["present", "absent"] = Field("present", description="absent shuts the guest down and removes "
                                                "its autostart link, keeping its config and disk")
    force: bool = Field(False, description="allow formatting a device that holds data (needs confirm); with state "
                                           "absent, destroying a guest that does not shut down")
    confirm: str | None = Field(None, description="the disk's path again (the device or the image file), to confirm "
                                                  "force; with state absent, the guest's name")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v) or v.lower() in ("domain-0", "dom0"):
            raise ValueError("must start with a letter and hold only letters, digits, '_' and '-' (at most 63), "
                             "and not be Domain-0")
        return v

    @field_validator("cpus")
    @classmethod
    def _cpus(cls, v: str | None) -> str | None:
        if v is not None and not _CPULIST.fullmatch(v):
            raise ValueError("must be a CPU list such as 2-7, 0,2,4 or all,^0-1")
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        if size_mib(v) < 1024:
            raise ValueError("must be at least 1G: Arch with a kernel needs it")
        return v.upper()

    @field_validator("volume_group")
    @classmethod
    def _vg(cls, v: str) -> str:
        if not _VG.fullmatch(v):
            raise ValueError("must be an LVM volume group name")
        return v

    @field_validator("image_dir", "copy_from", "iso", "root_password_hash_file")
    @classmethod
    def _paths(cls, v: str | None, info) -> str | None:
        return _path(v, info.field_name)

    @field_validator("image_format")
    @classmethod
    def _image_format(cls, v: str) -> str:
        if v == "qcow2":  # mkfs, mount and pacstrap fill the image through dom0's kernel, which reads raw files only
            raise ValueError("qcow2 is refused: xenbook formats and fills the image with mkfs.ext4, mount -o loop "
                             "and pacstrap, which write a raw file; a qcow2 disk would need qemu-nbd in dom0 and "
                             "QEMU's qdisk backend for every guest. Use raw: the sparse file is thin-provisioned "
                             "too (qemu-img convert -O qcow2 makes a copy for snapshots)")
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str | None) -> str | None:
        if v is not None and (not _DEVICE.fullmatch(v) or ".." in v.split("/")):
            raise ValueError("must be a device path such as /dev/sdb1")
        return v if v is None else abs_path(v)

    @field_validator("confirm")
    @classmethod
    def _confirm(cls, v: str | None) -> str | None:  # the guest's disk again (a device, the image file), or its name
        return v if v is None or not v.startswith("/") else abs_path(v)

    @field_validator("packages")
    @classmethod
    def _packages(cls, v: list[str]) -> list[str]:
        for p in v:
            if not _PKG.fullmatch(p):
                raise ValueError(f"{p!r} is not a package name")
        return v

    @field_validator("bridge")
    @classmethod
    def _bridge(cls, v: str) -> str:
        if not _IFNAME.fullmatch(v):
            raise ValueError("must be an interface name (lower-case letters, digits, _ or -, at most 15)")
        return v

    @field_validator("mac")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.lower()
        if not _MAC.fullmatch(v):
            raise ValueError("must be six hex byte pairs separated by ':', e.g. 00:16:3e:12:34:56")
        first = int(v[:2], 16)
        if first & 1:
            raise ValueError("is a multicast address; a NIC needs a unicast one (the first byte must be even)")
        if not (v.startswith("00:16:3e:") or first & 2):
            raise ValueError("must be in Xen's 00:16:3e range or locally administered (first byte x2, x6, xa, xe)")
        return v

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", v):
            raise ValueError("must be a host name: lower-case letters, digits and '-'")
        return v

    @field_validator("ssh_key")
    @classmethod
    def _ssh_key(cls, v: str | None) -> str | None:
        if v is not None and not _SSH_KEY.fullmatch(v.strip()):
            raise ValueError("must be one OpenSSH public key line (type, base64 key, optional comment)")
        return v.strip() if v else v

    @field_validator("root_password_hash_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV.fullmatch(v):
            raise ValueError("must be an environment variable NAME (upper-case letters, digits, _)")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.maxmem is not None and self.maxmem < self.memory:
            raise ValueError(f"maxmem ({self.maxmem}) must be at least memory ({self.memory})")
        if self.storage == "partition" and not self.device:
            raise ValueError("storage partition needs device, e.g. /dev/sdb1")
        if self.bootstrap == "copy" and not self.copy_from:
            raise ValueError("bootstrap copy needs copy_from")
        if self.root_password_hash_file and self.root_password_hash_env:
            raise ValueError("give root_password_hash_file or root_password_hash_env, not both")
        if self.type == "hvm" and self.bootstrap != "none":
            raise ValueError("HVM guests install from an install medium: set bootstrap none and iso")
        if self.boot == "pvhgrub" and self.type != "pvh":
            raise ValueError("boot pvhgrub is for type pvh guests")
        if self.confirm is not None and not self.force:
            raise ValueError("confirm is set but force is not")
        if self.state == "absent":
            if self.force and self.confirm != self.name:
                raise ValueError(f"force with state absent destroys {self.name} when it does not shut down: set "
                                 f"confirm to the guest's name, {self.name}, to confirm it")
        elif self.force and self.confirm is not None and self.confirm != self.disk:
            raise ValueError(f"confirm is {self.confirm} but the guest's disk is {self.disk}: force only formats "
                             "the disk confirm names, so set confirm to the disk's path")
        return self

    @property
    def disk(self) -> str:
        """Where the guest's disk is on dom0, known before it exists."""
        if self.storage == "lvm":
            return f"/dev/{self.volume_group}/{self.name}"
        if self.storage == "image":
            return f"{self.image_dir}/{self.name}.img"
        return self.device or ""

    # what the host says (xenbook.sections.domu.identity sets them): the guest's own MAC and root filesystem UUID
    _root_uuid: str | None = PrivateAttr(default=None)
    _vif_mac: str | None = PrivateAttr(default=None)

    @property
    def disk_uuid(self) -> str:
        """The root filesystem's UUID: known before formatting, the same every run: the one the guest already has on
        its host, or one derived from the dom0's machine ID and the name (identity.identified reads them)."""
        if self._root_uuid is None:
            raise RuntimeError(f"guest {self.name}: its root filesystem UUID is read from its host first "
                               "(xenbook.sections.domu.identity.identified)")
        return self._root_uuid

    @property
    def vif_mac(self) -> str:
        """The guest's MAC: the parameter, else the one its host has or derives (identity.identified)."""
        if not (self.mac or self._vif_mac):
            raise RuntimeError(f"guest {self.name}: its MAC is read from its host first "
                               "(xenbook.sections.domu.identity.identified)")
        return self.mac or self._vif_mac

    @property
    def host_name(self) -> str:
        return self.hostname or self.name.lower().replace("_", "-")


def legacy_uuid(name: str) -> str:
    """The root filesystem UUID releases before machine IDs derived from the name alone (the same on every host)."""
    return str(uuid.uuid5(NAMESPACE, f"root:{name}"))


def derived_uuid(name: str, machine_id: str) -> str:
    """The root filesystem UUID of a new guest: from the dom0's machine ID and the guest's name."""
    return str(uuid.uuid5(NAMESPACE, f"root:{machine_id}:{name}"))


def unique_guests(guests: list[GuestParams]) -> list[GuestParams]:
    """guests, or ParameterError naming each guest that repeats another's name (in any case), MAC, host name or disk:
    two guests with one name would rewrite one config back and forth on every run, and two with one MAC, host name
    or disk collide on the bridge, the network or the disk. A name that repeats is named alone (the MAC, host name
    and disk derived from it repeat with it)."""
    seen: dict[tuple[str, str], int] = {}
    problems = []
    for i, g in enumerate(guests):
        disk_field = {"partition": "device", "image": "image_dir"}.get(g.storage, "volume_group")
        keys = [("name", "name", g.name.lower()), ("host name", "hostname", g.host_name), ("disk", disk_field, g.disk)]
        keys += [("MAC address", "mac", g.mac.lower())] if g.mac else []  # derived ones: identity.identified_guests
        for what, field, key in keys:
            first = seen.setdefault((what, key), i)
            if first != i:
                shown = f"{guests[first].name} (names are compared ignoring case)" if what == "name" else key
                problems.append((f"guests.{i}.{field}", getattr(g, field), f"repeats the {what} of guests.{first}, "
                                 f"{shown}: each guest needs its own {what}; change or remove one of them"))
                if what == "name":
                    break
    if problems:
        raise ParameterError(problems)
    return guests


# The form's layout (xenbook.ui reads it): groups of fields, labels for people, and when a field applies (storage
# fields by storage kind, HVM's by type). force and confirm hold for the run they are given to: never saved.
FORM = {
    "groups": {"Guest": ["name", "state", "type", "boot", "firmware", "iso", "autostart", "start"],
               "Memory and CPUs": ["memory", "maxmem", "vcpus", "cpus"],
               "Storage": ["storage", "size", "grow", "volume_group", "image_dir", "image_format", "device", "fstab_device",
                           "force", "confirm"],
               "System": ["bootstrap", "copy_from", "packages", "hostname", "ssh_key", "root_password_hash_file",
                          "root_password_hash_env"],
               "Network": ["bridge", "mac"]},
    "labels": {"name": "guest name", "type": "guest type", "boot": "boot", "firmware": "HVM firmware",
               "iso": "install medium (ISO)", "autostart": "start at host boot", "start": "start it now",
               "memory": "memory (MiB)", "maxmem": "max memory (MiB)", "vcpus": "vCPUs", "cpus": "physical CPUs",
               "storage": "storage", "size": "disk size", "volume_group": "volume group", "image_dir": "image folder",
               "image_format": "image format", "device": "partition", "fstab_device": "root in fstab by",
               "force": "force (format data, or destroy an absent guest)", "confirm": "confirm (disk path or guest name)",
               "grow": "grow the disk to size", "state": "present or absent", "bootstrap": "fill the disk by",
               "copy_from": "copy from", "packages": "more packages", "hostname": "host name",
               "ssh_key": "root's SSH key", "root_password_hash_file": "root hash file",
               "root_password_hash_env": "root hash variable", "bridge": "bridge", "mac": "MAC address"},
    "shown_when": {"volume_group": [{"storage": ["lvm"]}],
                   "size": [{"storage": ["lvm", "image"]}], "grow": [{"storage": ["lvm", "image"]}],
                   "image_dir": [{"storage": ["image"]}], "image_format": [{"storage": ["image"]}],
                   "device": [{"storage": ["partition"]}],
                   "copy_from": [{"bootstrap": ["copy"]}],
                   "firmware": [{"type": ["hvm"]}], "iso": [{"type": ["hvm"]}],
                   "boot": [{"type": ["pvh"]}, {"boot": {"not": ["direct"]}}],
                   "confirm": [{"force": [True]}, {"confirm": {"set": True}}],
                   "packages": [{"bootstrap": ["pacstrap"]}]},
    "not_saved": ["force", "confirm"],
}
