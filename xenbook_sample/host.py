"""The sample host: a SIMULATED Arch Linux machine whose "/" is a plain directory on this machine."""

from __future__ import annotations

import functools
import json
import os
import posixpath
import shutil
import sys
from typing import Callable

from xenbook.connectors.rooted import RootedHost
from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError, ParameterError, TargetError
from xenbook_sample import tree
from xenbook_sample.profiles import DEFAULT_PROFILE, PROFILES, SECTOR, part_name

STATE_PATH = f"/{tree.STATE_DIR}/state.json"
FS_MODULES = {"ext2": "ext2", "ext3": "ext2", "ext4": "ext2", "vfat": "fat", "btrfs": "btrfs", "xfs": "xfs"}


def _state(root: str) -> dict | None:
    try:
        with open(os.path.join(root, tree.STATE_DIR, "state.json"), encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def is_sample(root: str) -> bool:
    """True when root holds a sample host (a state.json that says it is simulated)."""
    state = _state(root)
    return state is not None and state.get("simulated") is True


def made_by_another_version(root: str) -> str | None:
    """Why the sample host in root cannot be used by this xenbook (made by a version that simulates another
    machine), with the command that recreates it; None when it can."""
    state = _state(root) or {}
    made = state.get("format")
    if made == tree.FORMAT:
        return None
    profile = state.get("profile") if state.get("profile") in PROFILES else DEFAULT_PROFILE
    return (f"sample:{root} was made by {'an older' if not isinstance(made, int) or made < tree.FORMAT else 'a newer'}"
            f" xenbook (sample format {made}; this one simulates format {tree.FORMAT}), so steps would fail on what "
            f"its simulated machine lacks. Recreate it: xenbook sample init {root} --force --profile {profile}")


def _not_to_wipe(root: str) -> str | None:
    """Why the sample host in root must not be wiped by init_sample(force=True), or None: the marker looks right,
    but root is a machine's or a user's own directory, or the marker is a link to another tree's."""
    real = os.path.realpath(root)
    if real == "/" or real == os.path.realpath(os.path.expanduser("~")) or os.path.ismount(real):
        return f"is {real}: this machine's root, your home directory or a mount point"
    marker = os.path.join(root, tree.STATE_DIR)
    for path in (root, marker, os.path.join(marker, "state.json")):
        if os.path.islink(path):
            return f"is not a sample host of its own: {path} is a symbolic link"
    return None


def init_sample(path: str, profile: str = DEFAULT_PROFILE, force: bool = False) -> "SampleHost":
    """Create a sample host in path: missing or empty, or (with force) an existing sample host to replace."""
    if profile not in PROFILES:
        raise ParameterError([("profile", profile, f"must be one of {', '.join(sorted(PROFILES))}")])
    root = os.path.abspath(os.path.expanduser(path))
    if os.path.lexists(root) and not os.path.isdir(root):
        raise TargetError(f"{root} exists and is not a directory; choose another directory for the sample host")
    if os.path.isdir(root) and os.listdir(root):
        if not is_sample(root):
            raise TargetError(f"{root} is not empty and not a sample host made by xenbook; nothing was written "
                              "there, and --force does not change that. Choose a new or empty directory for the "
                              "sample host.")
        if not force:
            raise TargetError(f"{root} already holds a sample host; open it, or recreate it with --force (xenbook "
                              f"sample init {root} --force; force=True from Python)")
        refused = _not_to_wipe(root)
        if refused:
            raise TargetError(f"{root} {refused}: --force wipes only a directory that is a sample host made by "
                              "xenbook; nothing was removed. Choose a new or empty directory for the sample host.")
        for name in os.listdir(root):
            child = os.path.join(root, name)
            if os.path.isdir(child) and not os.path.islink(child):
                shutil.rmtree(child)
            else:
                os.unlink(child)
    tree.write_tree(root, PROFILES[profile])
    host = SampleHost(root)
    if PROFILES[profile].loader == "grub2":  # as after grub-install and grub-mkconfig -o /boot/grub/grub.cfg
        from xenbook_sample.grub import generate
        host.write_atomic("/boot/grub/grub.cfg", generate(host).encode(), mode=0o600)
    tree.settle(root)
    return host


class ToolResult(Result):
    """What a real tool on this machine printed for one of the sample's programs (counted "real")."""


class SampleHost(RootedHost):
    """A SIMULATED Arch Linux host: files under a directory, programs simulated in Python."""

    simulated = True

    def __init__(self, root: str):
        super().__init__(root)
        self.target = "sample:" + self.root

    @classmethod
    def open(cls, path: str, *, renew: bool = False) -> "SampleHost":
        """Open the sample host in path, creating it there when path is missing or empty; one made by another
        xenbook version is refused with the command that recreates it, or (renew, for xenbook's own default
        sample host, which nobody asked to keep) recreated."""
        root = os.path.abspath(os.path.expanduser(path))
        if not os.path.lexists(root) or (os.path.isdir(root) and not os.listdir(root)):
            return init_sample(root)
        if os.path.isdir(root) and is_sample(root):
            problem = made_by_another_version(root)
            if problem is None:
                return cls(root)
            if not renew:
                raise TargetError(problem)
            profile = _state(root).get("profile")
            print(f"xenbook: recreating the default sample host at {root}: it was made by another xenbook version",
                  file=sys.stderr)
            return init_sample(root, profile if profile in PROFILES else DEFAULT_PROFILE, force=True)
        raise TargetError(f"sample:{root}: {root} exists and is not a sample host made by xenbook; nothing was "
                          "written there. Name a new or empty directory, or one made by xenbook's sample host.")

    def answered_by(self, kind: str, *, command: bool = False) -> None:
        """Count one command answered by a real tool ("real") or by the simulation ("simulated"); command: the real
        tool answered the very command being run, which then does not count as simulated too."""
        counts = self.__dict__.setdefault("answered", {"real": 0, "simulated": 0})
        counts[kind] += 1
        if command:
            self.__dict__["answered_for_real"] = True

    def exec_validator(self, argv, path: str, data: bytes | None = None) -> Result | None:
        result = super().exec_validator(argv, path, data)
        if result is not None:
            self.answered_by("real")
        return result

    def terminal(self, command: Command) -> list[str]:
        """`xl console NAME` SIMULATED on a real terminal (xenbook_sample.console); nothing else has one here."""
        if list(command.argv[:2]) != ["xl", "console"]:
            return super().terminal(command)
        return [sys.executable, "-m", "xenbook_sample.console", self.root, "--", *command.argv]

    def run(self, command: Command, *, timeout: float | None = None,
            on_line: Callable[[str], None] | None = None) -> Result:
        from xenbook_sample.programs import run_program
        self.__dict__.pop("answered_for_real", None)
        result = run_program(self, command)
        if not self.__dict__.pop("answered_for_real", False):  # a program that ran a real tool counted it itself
            self.answered_by("real" if isinstance(result, ToolResult) else "simulated")
        if on_line is None:
            return result
        # like LocalHost with on_line: one merged stream, returned as stdout
        merged = result.stdout + result.stderr
        for line in merged.splitlines():
            on_line(line)
        return Result(result.returncode, merged, "")

    # simulator state: what a real host keeps outside its files
    def load_state(self) -> dict:
        data = self.read_bytes(STATE_PATH)
        if data is None:
            raise HostError(f"{self.root} lost its {STATE_PATH}; recreate the sample host")
        try:
            return json.loads(data)
        except ValueError as e:
            raise HostError(f"{self.root}{STATE_PATH} is not JSON ({e}); recreate the sample host") from e

    def save_state(self, state: dict) -> None:
        """Record the state; the mountinfo file follows it when the mount table changed."""
        from xenbook_sample.mountinfo import sync  # mountinfo reads the devices this module derives
        self.write_atomic(STATE_PATH, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())
        sync(self, state)


# The simulated machine's block devices and mounts, derived from its state

def block_devices(state: dict) -> list[dict]:
    """Disks with their partitions under "children", with what lsblk and blkid report."""
    from xenbook_sample.storage import disk_signature, loop_devices, lv_devices  # storage imports this module
    mounted: dict[str, list[str]] = {}
    for m in state["mounts"]:
        mounted.setdefault(m["source"], []).append(m["target"])
    disks = []
    for d in state["machine"]["disks"]:
        path = f"/dev/{d['name']}"
        base = 16 * sum(1 for o in disks if o["major"] == 8) if d["major"] == 8 else 0  # sdb is 8:16
        disk = {"name": d["name"], "path": path, "type": "disk", "size": d["size"], "major": d["major"],
                "minor": base, "fstype": None, "uuid": None, "label": None, "pttype": d["pttype"],
                "ptuuid": d["ptuuid"], "partuuid": None, "parttype": None, "partn": None, "pkname": None,
                "model": d["model"], "mountpoints": sorted(mounted.get(path, [])), "children": [],
                **disk_signature(state, path)}
        for p in d["partitions"]:
            name = part_name(d["name"], p["number"])
            disk["children"].append({
                "name": name, "path": f"/dev/{name}", "type": "part", "size": p["sectors"] * SECTOR,
                "start": p["start"], "major": d["major"], "minor": base + p["number"], "fstype": p["fstype"],
                "uuid": p["uuid"], "label": p["label"], "pttype": d["pttype"], "ptuuid": d["ptuuid"], "partuuid": p["partuuid"],
                "parttype": p["parttype"], "partn": p["number"], "pkname": d["name"], "model": None,
                "mountpoints": sorted(mounted.get(f"/dev/{name}", [])), "children": [],
                "grub": grub_drive_name(state, d, p)})
        disk["children"] += lv_devices(state, d["name"], mounted)
        disks.append(disk)
    return loop_devices(state, mounted) + disks


def all_devices(state: dict) -> list[dict]:
    return [dev for disk in block_devices(state) for dev in [disk] + disk["children"]]


def find_device(state: dict, spec: str) -> dict | None:
    """The device a path, a /dev/disk/by-* link, UUID=, PARTUUID= or LABEL= names."""
    links = {"/dev/disk/by-uuid/": "uuid", "/dev/disk/by-partuuid/": "partuuid", "/dev/disk/by-label/": "label",
             "UUID=": "uuid", "PARTUUID=": "partuuid", "LABEL=": "label"}
    for prefix, key in links.items():
        if spec.startswith(prefix):
            value = spec[len(prefix):].strip('"')
            return next((d for d in all_devices(state) if d[key] and d[key].lower() == value.lower()), None)
    return next((d for d in all_devices(state) if spec == d["path"] or spec in d.get("aliases", ())), None)


def mount_for(state: dict, path: str) -> dict:
    """The mount holding path (the longest mount target above it)."""
    path = posixpath.normpath("/" + path.lstrip("/"))
    best = None
    for m in state["mounts"]:
        t = m["target"]
        if path == t or path.startswith(t.rstrip("/") + "/"):
            if best is None or len(t) >= len(best["target"]):
                best = m
    if best is None:
        raise HostError(f"the simulated mount table has no filesystem holding {path}")
    return best


def relative_to_root(state: dict, path: str) -> str:
    """What grub-mkrelpath prints: path as GRUB sees it on the filesystem holding it."""
    path = posixpath.normpath(path)
    m = mount_for(state, path)
    rel = "" if path == m["target"] else path if m["target"] == "/" else path[len(m["target"]):]
    fsroot = m.get("fsroot") or "/"
    return (fsroot.rstrip("/") + rel) if fsroot != "/" else rel


def grub_drive_name(state: dict, disk: dict, part: dict) -> dict:
    """GRUB's names for a partition: drive (hd0,gpt2), hints and the partition-map module."""
    index = [d["name"] for d in state["machine"]["disks"]].index(disk["name"])
    kind = "gpt" if disk["pttype"] == "gpt" else "msdos"
    name = f"hd{index},{kind}{part['number']}"
    hints = f"--hint-bios={name} --hint-efi={name} "
    if disk["name"].startswith("sd"):
        hints += f"--hint-baremetal=ahci{index},{kind}{part['number']} "
    return {"drive": f"({name})", "compat": name, "hints": hints, "partmap": kind,
            "fs": FS_MODULES.get(part["fstype"] or "")}


# Boot files as GRUB's scripts see them

def verrevcmp(a: str, b: str) -> int:
    """GNU sort -V's comparison of two strings."""
    def order(s: str, i: int) -> int:
        c = s[i] if i < len(s) else ""
        return 0 if not c or c.isdigit() else ord(c) if c.isalpha() else -1 if c == "~" else ord(c) + 256
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            if order(a, i) != order(b, j):
                return order(a, i) - order(b, j)
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first = 0
        while i < len(a) and j < len(b) and a[i].isdigit() and b[j].isdigit():
            first, i, j = first or ord(a[i]) - ord(b[j]), i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first:
            return first
    return 0


def reverse_sorted(paths: list[str], top: str = "") -> list[str]:
    """The scripts' reverse version sort ('.old' files after their counterpart), with top moved first."""
    keyed = sorted((p[:-4] + " 1" if p.endswith(".old") else p + " 2" for p in paths),
                   key=functools.cmp_to_key(verrevcmp), reverse=True)
    out = [k[:-2] + (".old" if k.endswith(" 1") else "") for k in keyed]
    return ([top] if top in out else []) + [p for p in out if p != top]


def is_garbage(name: str) -> bool:
    """grub_file_is_not_garbage's rejects, plus editor backups grub-mkconfig skips."""
    return (name.endswith(("~", ".rpmsave", ".rpmnew", ".sig")) or ".dpkg-" in name
            or name.startswith("README") or (len(name) > 1 and name[0] == name[-1] == "#"))


def boot_files(host, folder: str, prefixes: tuple[str, ...]) -> list[str]:
    """Regular files in folder whose names start with one of prefixes, as the scripts' globs find them."""
    out = []
    for name in host.listdir(folder) or []:
        info = host.stat(posixpath.join(folder, name))
        if name.startswith(prefixes) and not is_garbage(name) and info is not None and info.kind == "file":
            out.append(posixpath.join(folder, name))
    return out


def initrd_for(host, folder: str, version: str) -> str:
    """The first initrd name 10_linux and 20_linux_xen look for beside a kernel, or ""."""
    alt = version[:-4] if version.endswith(".old") else version
    for name in (f"initrd.img-{version}", f"initrd-{version}.img", f"initrd-{alt}.img.old",
                 f"initrd-{version}.gz", f"initrd-{alt}.gz.old", f"initrd-{version}", f"initramfs-{version}.img",
                 f"initramfs-{alt}.img.old", f"initrd.img-{alt}", f"initrd-{alt}.img", f"initrd-{alt}",
                 f"initramfs-{alt}.img", f"initramfs-genkernel-{version}", f"initramfs-genkernel-{alt}",
                 f"initramfs-genkernel-x86_64-{version}", f"initramfs-genkernel-x86_64-{alt}"):
        if host.exists(posixpath.join(folder, name)):
            return name
    return ""


def kernel_config(host, folder: str, version: str, alt: str) -> list[str]:
    """Lines of the kernel's build config beside it (config-VERSION), as the scripts grep it."""
    for path in (f"{folder}/config-{version}", f"{folder}/config-{alt}", f"/etc/kernels/kernel-config-{version}"):
        if host.stat(path) is not None and host.stat(path).kind == "file":
            return (host.read_text(path) or "").splitlines()
    return []
