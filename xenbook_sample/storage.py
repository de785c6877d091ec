"""The sample host's SIMULATED storage: block devices for LVM volumes, image files and loops, image files
(truncate, qemu-img) and mkfs.ext4; LVM's programs are in lvm.py, mount, umount and mountpoint in mounts.py.

State keys: "lvm" (volume group → uuid, extent_size, PVs, LVs with extents and device-mapper minor), "volumes"
(LV device-mapper path or image file → the filesystem on it: id, fstype, uuid, label, or the partition table a
guest's installer wrote on it: pttype, ptuuid; image files also their nominal size and format) and "loops"
(attached loop devices). A filesystem's files live in the folder .xenbook-sample/volumes/<id>; mounting turns the
mount point into a link to that folder (its own folder is kept under .xenbook-sample/covered until umount), and
adds the mount to "mounts"."""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import shutil

from xenbook.core.commands import Result
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
    vol = state.get("volumes", {}).get(volume_key(state, path), {})
    return _dev(path, path, "file", vol.get("size", info.size), 0, 0, _raw(vol), None, {})


# mkfs.ext4

def _journal_blocks(blocks: int) -> int:
    limits = ((32768, 1024), (262144, 4096), (524288, 8192), (4194304, 16384), (8388608, 32768),
              (16777216, 65536), (33554432, 131072))
    return next((j for top, j in limits if blocks < top), 262144)


def _mke2fs_report(uuid: str, size: int) -> str:
    blocks = size // 4096
    groups = -(-blocks // 32768)
    backups = sorted({g for base in (3, 5, 7) for g in (base ** k for k in range(0, 40)) if g < groups} - {0})
    text = (f"mke2fs 1.47.3 (8-Jul-2025)\nCreating filesystem with {blocks} 4k blocks and {size // 16384} inodes\n"
            f"Filesystem UUID: {uuid}\n")
    if backups:
        nums = [str(g * 32768) for g in backups]
        text += "Superblock backups stored on blocks: \n\t" + ",\n\t".join(
            ", ".join(nums[i:i + 8]) for i in range(0, len(nums), 8)) + "\n\n"
    return text + ("Allocating group tables: done                            \nWriting inode tables: done         "
                   f"                   \nCreating journal ({_journal_blocks(blocks)} blocks): done\nWriting "
                   "superblocks and filesystem accounting information: done   \n\n")


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
    ident, n = fs["uuid"], 1
    while host.exists(f"{VOLUMES}/{ident}"):
        n += 1
        ident = f"{fs['uuid']}-{n}"
    vols[key] = {k: v for k, v in old.items() if k == "size"} | ({"format": "raw"} if "format" in old else {}) | \
        fs | {"id": ident}
    host.makedirs(f"{VOLUMES}/{ident}/lost+found", 0o700)
    return f"{VOLUMES}/{ident}"


def mkfs_ext4(host, argv, stdin) -> Result:
    opts, args = options(posixpath.basename(argv[0]), argv, "qFL:U:m:b:E:O:N:i:I:jT:", [])
    given = {o: v for o, v in opts}
    if not args:
        raise Usage(f"Usage: {posixpath.basename(argv[0])} [-c|-l filename] [-b block-size] ... device "
                    "[blocks-count]\n", 1)
    spec, state, err = args[0], host.load_state(), ""
    key = volume_key(state, spec)
    dev = find_device(state, spec)
    if dev is None and host.stat(key) is None:
        return Result(1, "", f"The file {spec} does not exist and no size was specified.\n")
    if dev is not None and dev["type"] not in ("lvm", "loop"):
        busy = dev["mountpoints"] or dev["children"]
        return Result(1, "", f"{spec} is {'mounted' if dev['mountpoints'] else 'apparently in use by the system'}; "
                             "will not make a filesystem here!\n" if busy else
                             f"{spec}: [simulated] xenbook's sample host formats only LVs and image files\n")
    if any(m["source"] == key or find_device(state, m["source"]) and find_device(state, m["source"]).get(
            "backing") == key for m in state["mounts"]):
        return Result(1, "", f"{spec} is mounted; will not make a filesystem here!\n")
    uuid = given.get("-U") or _uuid4()
    if uuid in ("random", "time"):
        uuid = _uuid4()
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", uuid):
        return Result(1, "", f"{spec}: could not parse UUID: {uuid}\n\n")
    label = given.get("-L")
    if label and len(label.encode()) > 16:
        label = label.encode()[:16].decode(errors="ignore")
        err += f"Warning: label too long; will be truncated to '{label}'\n\n"
    old = state.get("volumes", {}).get(key, {})
    if old.get("fstype") and "-F" not in given:
        return Result(1, f"{spec} contains a {old['fstype']} file system" + (f" labelled '{old['label']}'" if
                                                                              old.get("label") else "") +
                      "\nProceed anyway? (y,N) ", err)
    size = volume_size(host, state, key)
    new_volume(host, state, key, {"fstype": "ext4", "uuid": uuid.lower(), "label": label})
    host.save_state(state)
    return Result(0, "" if "-q" in given else _mke2fs_report(uuid.lower(), size), err)


def _uuid4() -> str:
    import uuid
    return str(uuid.uuid4())


# image files: truncate, qemu-img (a small labelled stand-in file; the nominal size in "volumes")

SUFFIXES = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4, "P": 1024 ** 5, "KB": 1000,
            "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4}


def image_stand_in(size: int, fmt: str = "raw") -> bytes:
    """The small file that stands for a disk image of nominal size bytes."""
    return stand_in(f"{fmt} disk image of {size} bytes (its size and filesystem are kept in the sample's "
                    f"state.json, \"volumes\")")


def truncate(host, argv, stdin) -> Result:
    opts, args = options("truncate", argv, "s:c", ["size=", "no-create"])
    given = {o: v for o, v in opts}
    text = given.get("-s", given.get("--size"))
    if text is None or not args:
        raise Usage("truncate: you must specify either '--size' or '--reference'\n"
                    "Try 'truncate --help' for more information.\n", 1)
    m = re.fullmatch(r"(\d+)([KMGTP]?(?:i?B)?)", text, re.IGNORECASE)
    if not m:
        return Result(1, "", f"truncate: Invalid number: \u2018{text}\u2019\n")
    unit = m.group(2).upper().replace("IB", "")
    size, state, err = int(m.group(1)) * SUFFIXES.get(unit, 1), host.load_state(), ""
    for arg in args:
        path, info = _abs(arg), host.stat(_abs(arg))
        parent = host.stat(posixpath.dirname(path))
        if info is None and ("-c" in given or "--no-create" in given):
            continue
        if parent is None or parent.kind != "dir" or (info and info.kind == "dir"):
            why = "Is a directory" if info else "No such file or directory"
            err += f"truncate: cannot open '{arg}' for writing: {why}\n"
            continue
        vol = state.setdefault("volumes", {}).get(path)
        if vol is None and size <= 1024 ** 2:  # small files are real files
            host.write_atomic(path, (host.read_bytes(path) or b"").ljust(size, b"\0")[:size])
            continue
        if vol is None or not info or info.size == 0 or (host.read_bytes(path) or b"").startswith(b"SIMULATED"):
            host.write_atomic(path, image_stand_in(size), mode=info.mode if info else 0o644)
        state["volumes"][path] = (vol or {"format": "raw"}) | {"size": size}
    host.save_state(state)
    return Result(1 if err else 0, "", err)


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
    host.write_atomic(dst, image_stand_in(size, out_fmt), mode=0o644)
    copy = {k: v for k, v in vol.items() if k != "id"} | {"size": size, "format": out_fmt}
    if vol.get("id"):
        copy["id"] = vol["id"] + "-" + secrets.token_hex(3)
        shutil.copytree(host.real(f"{VOLUMES}/{vol['id']}"), host.real(f"{VOLUMES}/{copy['id']}"), symlinks=True)
    state.setdefault("volumes", {})[dst] = copy
    host.save_state(state)
    return Result(0, "", "")


PROGRAMS = {"mkfs.ext4": mkfs_ext4, "mke2fs": mkfs_ext4, "truncate": truncate, "qemu-img": qemu_img}
