"""The destructive guard: whether a device may be formatted, decided from recorded device facts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.core.errors import XenbookError


@dataclass(frozen=True)
class DeviceFacts:
    """What the host says about one block device and everything stacked on it."""

    path: str
    exists: bool = True
    mounts: tuple[tuple[str, str], ...] = ()  # (device, mount point) for it and its descendants
    swap: tuple[str, ...] = ()  # active swap on it or its descendants
    fstype: str | None = None  # a signature blkid finds on the device itself
    pttype: str | None = None
    children: tuple[str, ...] = ()  # partitions, LVM volumes, dm devices on top of it
    partition: bool = False  # an entry in a partition table, whose type says what it is for
    parttype: str | None = None  # its GPT type GUID or MBR type byte ("0x83"); None when nothing reports it


@dataclass(frozen=True)
class Refusal:
    rule: str
    evidence: str
    hard: bool = False  # no force overrides it


# Rules that even force and confirm do not override: formatting these destroys the running system.

# The partition types a guest's filesystem may replace: Linux filesystem data. Every other type holds something
# (firmware's boot code, another system, swap, a RAID or LVM member), even when blkid finds no signature on it.
LINUX_FILESYSTEM = frozenset({"0fc63daf-8483-4772-8e79-3d69d8477de4", "0x83"})
PARTITION_TYPES = {
    "21686148-6449-6e6f-744e-656564454649": "BIOS boot", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI system",
    "e3c9e316-0b5c-4db8-817d-f92df00215ae": "Microsoft reserved", "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7":
    "Microsoft basic data", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
    "a19d880f-05fc-4d3b-a006-743f0f84911e": "Linux RAID", "e6d6d379-f507-44c2-a23c-238f2a3df928": "Linux LVM",
    "bc13c2ff-59e6-4262-a352-b275fd6f7172": "Linux extended boot", "933ac7e1-2eb4-4f13-b844-0e14e2aef915": "Linux home",
    "4f68bce3-e8cd-4db1-96e7-fbcaf984b709": "Linux root (x86-64)", "0xef": "EFI system", "0x82": "Linux swap",
    "0xfd": "Linux RAID autodetect", "0x8e": "Linux LVM", "0x05": "Extended", "0x0f": "W95 extended (LBA)",
    "0x85": "Linux extended", "0x07": "HPFS/NTFS/exFAT", "0x0b": "W95 FAT32", "0x0c": "W95 FAT32 (LBA)",
}


def _type_key(parttype: str) -> str:
    """A type as the tables above spell it: GUIDs in lower case, MBR bytes as two hex digits ("0x5" is "0x05")."""
    low = parttype.strip().lower()
    return f"0x{int(low, 16):02x}" if re.fullmatch(r"0x[0-9a-f]{1,2}", low) else low


def refusals(d: DeviceFacts) -> list[Refusal]:
    """Every rule the device breaks, with the evidence; empty when it is safe to format."""
    out = []
    if not d.exists:
        out.append(Refusal("missing", f"{d.path} does not exist", hard=True))
        return out
    for dev, target in d.mounts:
        rule = {"/": "backs-root", "/boot": "backs-boot"}.get(target, "mounted")
        via = "" if dev == d.path else f" through {dev}"
        out.append(Refusal(rule, f"{d.path} is mounted{via} at {target}", hard=True))
    for dev in d.swap:
        out.append(Refusal("active-swap", f"{dev} is active swap (/proc/swaps)", hard=True))
    if d.fstype == "LVM2_member":
        out.append(Refusal("lvm-pv", f"{d.path} is an LVM physical volume (blkid TYPE=LVM2_member)"))
    elif d.fstype:
        out.append(Refusal("has-filesystem", f"{d.path} already holds a filesystem ({d.fstype}, found by blkid)"))
    if d.partition and (d.parttype is None or _type_key(d.parttype) not in LINUX_FILESYSTEM):
        name = PARTITION_TYPES.get(_type_key(d.parttype or ""), "")
        kind = (f"a {name} partition (type {d.parttype})" if name else f"a partition of type {d.parttype}"
                if d.parttype else "a partition whose type neither lsblk nor blkid reports")
        out.append(Refusal("partition-type", f"{d.path} is {kind}; only a Linux filesystem partition "
                                             "(GPT 0fc63daf-8483-4772-8e79-3d69d8477de4, MBR 0x83) holds no data"))
    if d.pttype:
        out.append(Refusal("has-partition-table", f"{d.path} holds a {d.pttype} partition table"
                                                  + (f" with {', '.join(d.children)}" if d.children else "")))
    return out


class GuardRefused(XenbookError):
    def __init__(self, device: str, found: list[Refusal], forced: bool, confirm: str | None):
        self.device, self.refusals = device, found
        lines = [f"[{r.rule}] {r.evidence}" for r in found]
        hard = [r for r in found if r.hard]
        if hard:
            advice = "this device is in use by the running system; no parameter overrides that"
        elif not forced:
            advice = f"to destroy what is on it set force: true and confirm: {device!r}"
        else:
            advice = f"force is set but confirm is {confirm!r}, not {device!r}"
        super().__init__(f"refusing to format {device}:\n  " + "\n  ".join(lines) + f"\n  what to do: {advice}")


def check(d: DeviceFacts, *, force: bool = False, confirm: str | None = None) -> list[Refusal]:
    """The refusals that force and confirm overrode (to report); GuardRefused when any still stands."""
    found = refusals(d)
    if not found:
        return []
    if any(r.hard for r in found) or not force or confirm != d.path:
        raise GuardRefused(d.path, found, force, confirm)
    return found


def device_facts(device: str, lsblk: dict, blkid_export: str, swaps: str) -> DeviceFacts:
    """DeviceFacts from `lsblk -J -p -o NAME,TYPE,FSTYPE,PTTYPE,PARTTYPE,MOUNTPOINTS` (the tree), `blkid -p -o
    export` output for the device, and /proc/swaps."""
    node = _find(lsblk.get("blockdevices", []), device)
    if node is None:
        return DeviceFacts(device, exists=False)
    mounts, names = [], []
    _walk(node, mounts, names)
    swap_paths = {line.split()[0] for line in swaps.splitlines()[1:] if line.strip()}
    tags = dict(line.split("=", 1) for line in blkid_export.splitlines() if "=" in line)
    # lsblk gives a partition its disk's table type; only a whole device's own table counts
    own_table = node.get("pttype") if node.get("type") != "part" else None
    partition = node.get("type") == "part" or "PART_ENTRY_TYPE" in tags
    return DeviceFacts(device, True, tuple(mounts), tuple(n for n in [device] + names if n in swap_paths),
                       tags.get("TYPE") or node.get("fstype"), tags.get("PTTYPE") or own_table, tuple(names),
                       partition, node.get("parttype") or tags.get("PART_ENTRY_TYPE"))


def image_facts(image: str, losetup: str, lsblk: dict, blkid_export: str, swaps: str) -> DeviceFacts:
    """DeviceFacts for an image file from `losetup -j IMAGE` (the loop devices backed by it), the lsblk tree,
    `blkid -p -o export IMAGE` and /proc/swaps: a loop device's mounts and swap are the image's, so the hard
    rules hold for a loop-mounted image as for a disk."""
    tags = dict(line.split("=", 1) for line in blkid_export.splitlines() if "=" in line)
    mounts, swap, names = [], [], []
    for loop in loop_devices(losetup):
        facts = device_facts(loop, lsblk, "", swaps)
        names.append(loop)
        mounts += list(facts.mounts)
        swap += list(facts.swap)
    return DeviceFacts(image, True, tuple(mounts), tuple(swap), tags.get("TYPE"), tags.get("PTTYPE"), tuple(names))


def loop_devices(losetup: str) -> list[str]:
    """The loop devices `losetup -j FILE` lists: lines like "/dev/loop0: [65024]:2146353 (/srv/guest.img)"."""
    return [line.split(":", 1)[0] for line in losetup.splitlines() if line.startswith("/dev/")]


def _find(nodes: list[dict], device: str) -> dict | None:
    for node in nodes:
        if node.get("name") == device or node.get("path") == device:
            return node
        found = _find(node.get("children") or [], device)
        if found is not None:
            return found
    return None


def _walk(node: dict, mounts: list, names: list, top: bool = True) -> None:
    name = node.get("path") or node.get("name")
    if not top:
        names.append(name)
    for target in node.get("mountpoints") or []:
        if target and target != "[SWAP]":  # swap has its own rule
            mounts.append((name, "/" if target == "/" else target.rstrip("/")))
    for child in node.get("children") or []:
        _walk(child, mounts, names, top=False)
