"""The destructive guard: whether a device may be formatted, decided from recorded device facts."""

from __future__ import annotations

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


@dataclass(frozen=True)
class Refusal:
    rule: str
    evidence: str
    hard: bool = False  # no force overrides it


# Rules that even force and confirm do not override: formatting these destroys the running system.


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
    """DeviceFacts from `lsblk -J -p -o NAME,TYPE,FSTYPE,PTTYPE,MOUNTPOINTS` (the tree), `blkid -p -o export`
    output for the device, and /proc/swaps."""
    node = _find(lsblk.get("blockdevices", []), device)
    if node is None:
        return DeviceFacts(device, exists=False)
    mounts, names = [], []
    _walk(node, mounts, names)
    swap_paths = {line.split()[0] for line in swaps.splitlines()[1:] if line.strip()}
    tags = dict(line.split("=", 1) for line in blkid_export.splitlines() if "=" in line)
    # lsblk gives a partition its disk's table type; only a whole device's own table counts
    own_table = node.get("pttype") if node.get("type") != "part" else None
    return DeviceFacts(device, True, tuple(mounts), tuple(n for n in [device] + names if n in swap_paths),
                       tags.get("TYPE") or node.get("fstype"), tags.get("PTTYPE") or own_table, tuple(names))


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
