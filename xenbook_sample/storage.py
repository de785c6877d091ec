"""The sample host's storage: block devices for LVM volumes, image files and loops (SIMULATED), and image files
(truncate makes REAL sparse files; qemu-img is SIMULATED); mkfs.ext4 is in mkfs.py, the real tools on image files in
images.py, LVM's programs in lvm.py, mount, umount and mountpoint in mounts.py.

State keys: "lvm" (volume group → uuid, extent_size, PVs, LVs with extents and device-mapper minor), "volumes"
(LV device-mapper path or image file → the filesystem on it: id, fstype, uuid, label, or the partition table a
guest's installer wrote on it: pttype, ptuuid; image files also their nominal size and format; "simulated" when the
simulation formatted an image because this machine has no mkfs.ext4) and "loops" (attached loop devices). A
filesystem's files live in the folder .xenbook-sample/volumes/<id> (an image's: its UUID, as its superblock says);
mounting turns the mount point into a link to that folder (its own folder is kept under .xenbook-sample/covered until
umount), and adds the mount to "mounts"."""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import shutil

from xenbook.core.commands import Result
from xenbook_sample import images
from xenbook_sample.host import find_device
from xenbook_sample.options import Usage, options
from xenbook_sample.profiles import Profile
from xenbook_sample.tree import STATE_DIR

VOLUMES = f"/{STATE_DIR}/volumes"
DM_MAJOR, LOOP_MAJOR = 254, 7
Entry = tuple[str, "bytes | None", int, "str | None"]


def _abs(path: str) -> str:
    """An argument as an absolute, normalised host path (relative ones from "/", as the steps run them)."""
    return posixpath.normpath("/" + path.lstrip("/"))


def stand_in(what: str) -> bytes:
    return f"SIMULATED {what}, written by xenbook's sample host; not a real one.\n".encode()


def dm_path(vg: str, lv: str) -> str:
    """/dev/mapper/VG-LV, dashes inside either name doubled as device-mapper does."""
    return f"/dev/mapper/{vg.replace('-', '--')}-{lv.replace('-', '--')}"


def initial_state(profile: Profile) -> dict:
    """The storage keys of a new sample host's state."""
    lvm, volumes, minor = {}, {}, 0
    for vg in profile.volume_groups:
        lvs = []
        for lv in vg.lvs:
            lvs.append({"name": lv.name, "uuid": lv.uuid, "extents": lv.extents, "minor": minor})
            if lv.fstype:
                volumes[dm_path(vg.name, lv.name)] = {"id": lv.fs_uuid, "fstype": lv.fstype, "uuid": lv.fs_uuid,
                                                      "label": lv.label}
            minor += 1
        lvm[vg.name] = {"uuid": vg.uuid, "extent_size": vg.extent_size, "lvs": lvs,
                        "pvs": [{"device": f"/dev/{d}", "uuid": u, "pe_count": n} for d, u, n in vg.pvs]}
    return {"lvm": lvm, "volumes": volumes, "loops": []}


def _lv_nodes(vg: str, lv: str, minor: int) -> list[Entry]:
    return [(f"/dev/dm-{minor}", stand_in(f"device-mapper device of {vg}/{lv}"), 0o660, None),
            (dm_path(vg, lv), None, 0o777, f"../dm-{minor}"), (f"/dev/{vg}/{lv}", None, 0o777, f"../dm-{minor}")]


def tree_files(profile: Profile) -> list[Entry]:
    """/proc/swaps, device nodes (stand-ins) for disks, partitions and LVs, and the files on the profile's LVs."""
    from xenbook_sample.profiles import part_name
    out: list[Entry] = [("/proc/swaps", b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", 0o444, None)]
    for d in profile.disks:
        names = [d.name] + [part_name(d.name, p.number) for p in d.partitions]
        out += [(f"/dev/{n}", stand_in(f"block device /dev/{n}"), 0o660, None) for n in names]
    state = initial_state(profile)
    for vg, info in state["lvm"].items():
        for lv in info["lvs"]:
            out += _lv_nodes(vg, lv["name"], lv["minor"])
    for path, vol in state["volumes"].items():
        folder = f"{VOLUMES}/{vol['id']}"
        out += [(f"{folder}/lost+found", None, 0o700, None),
                (f"{folder}/backup/README", stand_in(f"data on {path}: the guard must never format it"), 0o644,
                 None)]
    return out


# devices for lsblk, blkid, findmnt (host.block_devices adds them)

def _dev(name: str, path: str, kind: str, size: int, major: int, minor: int, vol: dict, pkname: str | None,
         mounted: dict, **extra) -> dict:
    return {"name": name, "path": path, "type": kind, "size": size, "major": major, "minor": minor,
            "fstype": vol.get("fstype"), "uuid": vol.get("uuid"), "label": vol.get("label"),
            "pttype": vol.get("pttype"), "ptuuid": vol.get("ptuuid"), "partuuid": None, "parttype": None,
            "partn": None, "pkname": pkname, "model": None,
            "mountpoints": sorted(mounted.get(path, [])), "children": [], **extra}


def disk_signature(state: dict, path: str) -> dict:
    """fstype and uuid of a whole disk that is an LVM physical volume, else {}."""
    for info in state.get("lvm", {}).values():
        for pv in info["pvs"]:
            if pv["device"] == path:
                return {"fstype": "LVM2_member", "uuid": pv["uuid"]}
    return {}


def lv_devices(state: dict, disk: str, mounted: dict) -> list[dict]:
    """The logical volumes on a disk, as lsblk lists them below it."""
    out = []
    for vg, info in sorted(state.get("lvm", {}).items()):
        if f"/dev/{disk}" in [pv["device"] for pv in info["pvs"]]:
            for lv in info["lvs"]:
                path = dm_path(vg, lv["name"])
                out.append(_dev(path[12:], path, "lvm", lv["extents"] * info["extent_size"], DM_MAJOR, lv["minor"],
                                state.get("volumes", {}).get(path, {}), disk, mounted, kname=f"dm-{lv['minor']}",
                                aliases=[f"/dev/{vg}/{lv['name']}", f"/dev/dm-{lv['minor']}"]))
    return out


def _raw(vol: dict) -> dict:
    return vol if vol.get("format", "raw") == "raw" else {}


def loop_devices(state: dict, mounted: dict) -> list[dict]:
    """Attached loop devices: what their backing files hold."""
    vols = state.get("volumes", {})
    return [_dev(lo["name"], f"/dev/{lo['name']}", "loop", vols.get(lo["file"], {}).get("size", 0), LOOP_MAJOR,
                 int(lo["name"][4:]), _raw(vols.get(lo["file"], {})), None, mounted, backing=lo["file"])
            for lo in state.get("loops", [])]


def volume_key(state: dict, spec: str) -> str:
    """The volumes key of a device or file: an LV's /dev/mapper path, a loop device's file, or the path."""
    dev = find_device(state, spec)
    if dev is not None and dev["type"] in ("lvm", "loop"):
        return dev.get("backing") or dev["path"]
    return dev["path"] if dev else posixpath.normpath(posixpath.join("/", spec))


def file_device(host, state: dict, path: str) -> dict | None:
    """A regular file as blkid probes it (its registered filesystem), or None when it is no file."""
    info = host.stat(posixpath.normpath(posixpath.join("/", path)))
    if info is None or info.kind != "file":
        return None
    vol = file_volume(host, state, volume_key(state, path))
    return _dev(path, path, "file", vol.get("size", info.size), 0, 0, _raw(vol), None, {})


# filesystems on volumes

def file_volume(host, state: dict, key: str, *, register: bool = False) -> dict:
    """The "volumes" entry of an image file, in step with the file itself: the ext2/3/4 filesystem its superblock
    holds, no filesystem when it holds none; an image the simulation formatted (or an older sample's stand-in) as
    state.json has it. A filesystem the sample has not seen yet has no folder ("id"); register gives it one."""
    vol = state.get("volumes", {}).get(key, {})
    local = images.image_file(host, key)
    if local is None or vol.get("simulated") or vol.get("format", "raw") != "raw" or images.stand_in(local):
        return vol
    found = images.superblock(local)
    if found is None:
        return {k: v for k, v in vol.items() if k in ("size", "format")}
    if any(vol.get(k) != v for k, v in found.items()):
        if not register:
            return {k: v for k, v in vol.items() if k in ("size", "format")} | found
        new_volume(host, state, key, found)
    return state["volumes"][key]


def volume_size(host, state: dict, key: str) -> int:
    """The size of a device, or the nominal size of an image file."""
    dev = find_device(state, key)
    if dev is not None:
        return dev["size"]
    info = host.stat(key)
    return state.get("volumes", {}).get(key, {}).get("size", info.size if info else 0)


def new_volume(host, state: dict, key: str, fs: dict) -> str:
    """Register fs (fstype, uuid, label) on key with a new empty folder for its files; returns the folder."""
    vols = state.setdefault("volumes", {})
    old = vols.get(key, {})
    if old.get("id"):
        shutil.rmtree(host.real(f"{VOLUMES}/{old['id']}"), ignore_errors=True)
    taken = {v.get("id") for k, v in vols.items() if k != key}
    ident, n = fs["uuid"], 1
    while ident in taken:
        n += 1
        ident = f"{fs['uuid']}-{n}"
    # a folder no volume holds was made by a mkfs killed before it saved the state: this one starts it over
    shutil.rmtree(host.real(f"{VOLUMES}/{ident}"), ignore_errors=True)
    vols[key] = {k: v for k, v in old.items() if k == "size"} | ({"format": "raw"} if "format" in old else {}) | \
        fs | {"id": ident}
    host.makedirs(f"{VOLUMES}/{ident}/lost+found", 0o700)
    return f"{VOLUMES}/{ident}"


# image files: truncate (a real sparse file), qemu-img (a qcow2 file is a small labelled stand-in)

SUFFIXES = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5, "KB": 1000,
            "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4}


def image_stand_in(size: int, fmt: str = "raw") -> bytes:
    """The small file that stands for a qcow2 disk image of nominal size bytes."""
    return stand_in(f"{fmt} disk image of {size} bytes (its size and filesystem are kept in the sample's "
                    f"state.json, \"volumes\")")


def truncate(host, argv, stdin) -> Result:
    opts, args = options("truncate", argv, "s:c", ["size=", "no-create"])
    given = {o: v for o, v in opts}
    text = given.get("-s", given.get("--size"))
    if text is None or not args:
        raise Usage("truncate: you must specify either '--size' or '--reference'\n"
                    "Try 'truncate --help' for more information.\n", 1)
    m = re.fullmatch(r"([-+<>/%]?)(\d+)([KMGTP]?(?:i?B)?)", text, re.IGNORECASE)
    if not m:
        return Result(1, "", f"truncate: Invalid number: \u2018{text}\u2019\n")
    unit = m.group(3).upper().replace("IB", "")
    number, state, err = int(m.group(2)) * SUFFIXES.get(unit, 1), host.load_state(), ""
    sized: list[tuple[str, bool, int]] = []  # (local path, made by this truncate, its size)
    for arg in args:
        path, info = _abs(arg), host.stat(_abs(arg))
        size = _adjusted(m.group(1), volume_size(host, state, path) if info else 0, number)
        if size is None:
            return Result(1, "", "truncate: division by zero\n")
        parent = host.stat(posixpath.dirname(path))
        if info is None and ("-c" in given or "--no-create" in given):
            continue
        if parent is None or parent.kind != "dir" or (info and info.kind == "dir"):
            why = "Is a directory" if info else "No such file or directory"
            err += f"truncate: cannot open '{arg}' for writing: {why}\n"
            continue
        vol, local = state.setdefault("volumes", {}).get(path), host.real(path)
        if vol is not None and info is not None and images.stand_in(local):  # an older sample's stand-in image
            state["volumes"][path] = vol | {"size": size}
            continue
        sized.append((local, info is None, size))
        if vol is not None or size > 1024 ** 2:
            state["volumes"][path] = (vol or {"format": "raw"}) | {"size": size}
    host.save_state(state)  # first: an image without its entry would stay unregistered once truncate is not rerun
    for local, new, size in sized:
        with open(local, "ab") as f:  # as truncate(1): holes, no data written
            f.truncate(size)
        if new:
            os.chmod(local, 0o644)
    return Result(1 if err else 0, "", err)


def _adjusted(prefix: str, current: int, number: int) -> int | None:
    """truncate's SIZE with its prefix: + extend by, - reduce by, < at most, > at least, / and % round down and up
    to a multiple (None for a multiple of 0)."""
    if prefix in "/%" and prefix and number == 0:
        return None
    return {"": number, "+": current + number, "-": max(current - number, 0), "<": min(current, number),
            ">": max(current, number), "/": current // (number or 1) * number,
            "%": -(-current // (number or 1)) * number}[prefix]


def qemu_img(host, argv, stdin) -> Result:
    if len(argv) < 2 or argv[1] not in ("info", "convert"):
        raise Usage("qemu-img: [simulated] xenbook's sample host simulates qemu-img info|convert\n", 1)
    opts, args = options("qemu-img", argv[1:], "f:O:p", ["output=", "force-share"])
    given, state = {o: v for o, v in opts}, host.load_state()
    for path in args[:1]:
        if host.stat(_abs(path)) is None:
            return Result(1, "", f"qemu-img: Could not open '{path}': Could not open '{path}': No such file or "
                                 "directory\n")
    vol = dict(state.get("volumes", {}).get(_abs(args[0]), {})) if args else {}
    size, fmt = vol.get("size", host.stat(_abs(args[0])).size if args else 0), vol.get("format", "raw")
    if argv[1] == "info" and len(args) == 1:
        if given.get("--output") != "json":
            raise Usage("qemu-img: [simulated] xenbook's sample host simulates qemu-img info --output=json\n", 1)
        name, disk = args[0], os.stat(host.real(_abs(args[0]))).st_blocks * 512
        child = {"children": [], "virtual-size": size, "filename": name, "format": "file", "actual-size": disk,
                 "format-specific": {"type": "file", "data": {}}, "dirty-flag": False}
        info = {"children": [{"name": "file", "info": child}], "virtual-size": size, "filename": name, "format": fmt,
                "actual-size": disk} | ({"cluster-size": 65536, "format-specific": {"type": "qcow2", "data": {
                    "compat": "1.1", "compression-type": "zlib", "lazy-refcounts": False, "refcount-bits": 16,
                    "corrupt": False, "extended-l2": False}}} if fmt == "qcow2" else {}) | {"dirty-flag": False}
        text = re.sub(r"(?m)^( *)(.*)(\[\]|\{\})(,?)$", lambda m: f"{m[1]}{m[2]}{m[3][0]}\n{m[1]}{m[3][1]}{m[4]}",
                      json.dumps(info, indent=4))  # qemu prints empty lists and objects on two lines
        return Result(0, text + "\n", "")
    if argv[1] != "convert" or len(args) != 2 or given.get("-O", "raw") not in ("raw", "qcow2"):
        raise Usage("qemu-img: [simulated] xenbook's sample host simulates convert [-f F] -O raw|qcow2 SRC DST\n", 1)
    dst, out_fmt = _abs(args[1]), given.get("-O", "raw")
    src = images.image_file(host, _abs(args[0]))
    if out_fmt == "raw" and fmt == "raw" and src and not images.stand_in(src):
        images.copy_sparse(src, host.real(dst))
        os.chmod(host.real(dst), 0o644)
    else:
        host.write_atomic(dst, image_stand_in(size, out_fmt), mode=0o644)
    copy = {k: v for k, v in vol.items() if k != "id"} | {"size": size, "format": out_fmt}
    if vol.get("id"):
        copy["id"] = vol["id"] + "-" + secrets.token_hex(3)
        shutil.copytree(host.real(f"{VOLUMES}/{vol['id']}"), host.real(f"{VOLUMES}/{copy['id']}"), symlinks=True)
    state.setdefault("volumes", {})[dst] = copy
    host.save_state(state)
    return Result(0, "", "")


PROGRAMS = {"truncate": truncate, "qemu-img": qemu_img}
