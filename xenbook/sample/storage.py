"""The sample host's SIMULATED storage: LVM (vgs, lvs, lvcreate), image files (truncate, qemu-img), mkfs.ext4,
and mount, umount, mountpoint.

State keys: "lvm" (volume group → uuid, extent_size, PVs, LVs with extents and device-mapper minor), "volumes"
(LV device-mapper path or image file → the filesystem on it: id, fstype, uuid, label; image files also their
nominal size and format) and "loops" (attached loop devices). A filesystem's files live in the folder
.xenbook-sample/volumes/<id>; mounting turns the mount point into a link to that folder (its own folder is kept
under .xenbook-sample/covered until umount), and adds the mount to "mounts"."""

from __future__ import annotations

import getopt
import json
import os
import posixpath
import re
import secrets
import shutil

from ..commands import Result
from .host import find_device
from .options import Usage, options
from .profiles import Profile
from .tree import STATE_DIR

VOLUMES = f"/{STATE_DIR}/volumes"
DM_MAJOR, LOOP_MAJOR = 254, 7
Entry = tuple[str, "bytes | None", int, "str | None"]


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
    from .profiles import part_name
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
            "fstype": vol.get("fstype"), "uuid": vol.get("uuid"), "label": vol.get("label"), "pttype": None,
            "ptuuid": None, "partuuid": None, "parttype": None, "partn": None, "pkname": pkname, "model": None,
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


# LVM: vgs, lvs, lvcreate

FIELDS = {"vg_name": "VG", "vg_uuid": "VG UUID", "vg_size": "VSize", "vg_free": "VFree", "vg_extent_size": "Ext",
          "vg_extent_count": "#Ext", "vg_free_count": "Free", "pv_count": "#PV", "lv_count": "#LV",
          "snap_count": "#SN", "vg_attr": "Attr", "lv_name": "LV", "lv_uuid": "LV UUID", "lv_attr": "Attr",
          "lv_size": "LSize", "lv_path": "Path", "lv_dm_path": "DMPath"}
SIZES = {"vg_size", "vg_free", "vg_extent_size", "lv_size"}
DEFAULTS = {"vg": "vg_name,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free",
            "lv": "lv_name,vg_name,lv_attr,lv_size"}


def _free(info: dict) -> int:
    """Free extents of a volume group."""
    return sum(pv["pe_count"] for pv in info["pvs"]) - sum(lv["extents"] for lv in info["lvs"])


def _rows(state: dict, kind: str, names: list[str]) -> tuple[list[dict], str]:
    """Report rows of volume groups or logical volumes named VG, VG/LV or /dev/VG/LV (all without names)."""
    rows, err, lvm = [], "", state.get("lvm", {})
    wanted = [n.removeprefix("/dev/").partition("/")[::2] for n in names] or [(vg, "") for vg in sorted(lvm)]
    for vg, lv in wanted:
        info = lvm.get(vg)
        if info is None:
            err += f'  Volume group "{vg}" not found\n  Cannot process volume group {vg}\n'
            continue
        size, total = info["extent_size"], sum(pv["pe_count"] for pv in info["pvs"])
        if kind == "vg":
            rows.append({"vg_name": vg, "vg_uuid": info["uuid"], "vg_size": total * size,
                         "vg_free": _free(info) * size, "vg_extent_size": size, "vg_extent_count": total,
                         "vg_free_count": _free(info), "pv_count": len(info["pvs"]), "lv_count": len(info["lvs"]),
                         "snap_count": 0, "vg_attr": "wz--n-"})
            continue
        lvs = [x for x in sorted(info["lvs"], key=lambda x: x["name"]) if not lv or x["name"] == lv]
        if lv and not lvs:
            err += f'  Failed to find logical volume "{vg}/{lv}"\n'
        open_ = {m["source"] for m in state["mounts"]}
        rows += [{"lv_name": x["name"], "vg_name": vg, "lv_uuid": x["uuid"], "lv_size": x["extents"] * size,
                  "lv_path": f"/dev/{vg}/{x['name']}", "lv_dm_path": dm_path(vg, x["name"]),
                  "lv_attr": "-wi-ao----" if dm_path(vg, x["name"]) in open_ else "-wi-a-----"} for x in lvs]
    return rows, err


def _units(value: int, unit: str, suffix: bool) -> str:
    """A size as LVM's --units prints it: b bytes, h human (1024, "<" when rounded up), k m g t (1024), K M G T."""
    if unit in "bB":
        return f"{value}{'B' if suffix else ''}"
    powers = "bkmgtpe"
    if unit in ("h", "H"):
        if value == 0:
            return "0 " if suffix else "0"
        p = max(i for i in range(1, 7) if value >= 1024 ** i or i == 1)
        base, unit = 1024 ** p, powers[p]
    else:
        base = (1024 if unit.islower() else 1000) ** powers.index(unit.lower())
    shown = f"{value / base:.2f}"
    return ("<" if float(shown) * base > value else "") + shown + (unit if suffix else "")


def _report(prog: str, argv: list[str], kind: str, state: dict) -> Result:
    """vgs or lvs: -o fields, --units, --nosuffix, --noheadings, --reportformat json (or the basic table)."""
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "o:", ["reportformat=", "units=", "nosuffix", "noheadings",
                                                        "options="])
    except getopt.GetoptError as e:
        raise Usage(f"{prog}: {e.msg}\n  Error during parsing of command line.\n", 3)
    given = {o: v for o, v in opts}
    unit, suffix = given.get("--units", "h"), "--nosuffix" not in given
    fields = []
    for f in given.get("-o", given.get("--options", DEFAULTS[kind])).split(","):
        f = f.strip() if f.strip() in FIELDS else f"{kind}_{f.strip()}"
        if f not in FIELDS:
            return Result(3, "", f"  Unrecognised field: {f.removeprefix(kind + '_')}\n")
        fields.append(f)
    rows, err = _rows(state, kind, args)
    cells = [{f: _units(r[f], unit, suffix) if f in SIZES else str(r[f]) for f in fields} for r in rows]
    if given.get("--reportformat") in ("json", "json_std"):
        body = "".join(",\n"[:i and 2] + " " * 18 + "{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in
                                                                   c.items()) + "}" for i, c in enumerate(cells))
        out = (f'  {{\n      "report": [\n          {{\n              "{kind}": [\n' + (body + "\n" if body else "")
               + "              ]\n          }\n      ]\n  }\n")
    else:
        table = [[FIELDS[f] for f in fields]] * ("--noheadings" not in given) + [list(c.values()) for c in cells]
        widths = [max(len(r[i]) for r in table) for i in range(len(fields))] if table else []
        out = "".join("  " + " ".join(v.rjust(w) if f in SIZES or f.endswith("count") else v.ljust(w)
                                      for v, w, f in zip(r, widths, fields)) + "\n" for r in table)
    return Result(5 if err else 0, out, err)


def vgs(host, argv, stdin) -> Result:
    return _report("vgs", argv, "vg", host.load_state())


def lvs(host, argv, stdin) -> Result:
    return _report("lvs", argv, "lv", host.load_state())


UNITS = {"": 1024 ** 2, "b": 1, "s": 512, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}


def lvcreate(host, argv, stdin) -> Result:
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "yL:l:n:W:Z:", ["yes", "size=", "extents=", "name=",
                                                                 "wipesignatures=", "zero="])
    except getopt.GetoptError as e:
        raise Usage(f"lvcreate: {e.msg}\n  Error during parsing of command line.\n", 3)
    longs = {"--yes": "-y", "--size": "-L", "--extents": "-l", "--name": "-n", "--wipesignatures": "-W", "--zero": "-Z"}
    given = {longs.get(o, o)[1:]: v for o, v in opts}
    if len(args) != 1 or "n" not in given or ("L" in given) == ("l" in given):
        raise Usage("  No command with matching syntax recognised.  Run 'lvcreate --help' for more information.\n"
                    "[simulated] xenbook's sample host simulates lvcreate -L SIZE|-l EXTENTS -n NAME VG\n", 3)
    state, vg, name = host.load_state(), args[0], given["n"]
    info = state.get("lvm", {}).get(vg)
    if info is None:
        return Result(5, "", f'  Volume group "{vg}" not found\n  Cannot process volume group {vg}\n')
    if not re.fullmatch(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*", name) or name in (".", ".."):
        return Result(3, "", f'  Logical volume name "{name}" is invalid.\n')
    if any(lv["name"] == name for lv in info["lvs"]):
        return Result(5, "", f'  Logical Volume "{name}" already exists in volume group "{vg}"\n')
    size, out = info["extent_size"], ""
    if "L" in given:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([bskmgtpBSKMGTP]?)", given["L"])
        if not m:
            return Result(3, "", f"  Invalid argument for --size: {given['L']}\n"
                                 "  Error during parsing of command line.\n")
        wanted = int(float(m.group(1)) * UNITS[m.group(2).lower()])
        extents = -(-wanted // size)
        if extents * size != wanted:
            p = max(i for i in range(6) if extents * size >= 1024 ** i)
            out += f"  Rounding up size to full physical extent {extents * size / 1024 ** p:.2f} " \
                   f"{['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'][p]}\n"
    else:
        m = re.fullmatch(r"(\d+)(?:%(FREE|VG))?", given["l"])
        if not m:
            return Result(3, "", f"  Invalid argument for --extents: {given['l']}\n")
        total = sum(pv["pe_count"] for pv in info["pvs"])
        extents = int(m.group(1)) * {None: 0, "FREE": _free(info), "VG": total}[m.group(2)] // 100 \
            if m.group(2) else int(m.group(1))
    if extents > _free(info) or extents == 0:
        return Result(5, out, f'  Volume group "{vg}" has insufficient free space ({_free(info)} extents): '
                              f"{extents} required.\n")
    used = {lv["minor"] for i in state["lvm"].values() for lv in i["lvs"]}
    minor = min(set(range(len(used) + 1)) - used)
    info["lvs"].append({"name": name, "uuid": lvm_uuid(), "extents": extents, "minor": minor})
    state.get("volumes", {}).pop(dm_path(vg, name), None)
    for path, data, mode, link in _lv_nodes(vg, name, minor):
        host.makedirs(posixpath.dirname(path))
        host.remove(path)
        if link:
            os.symlink(link, host.real(path))
        else:
            host.write_atomic(path, data, mode=mode)
    host.save_state(state)
    return Result(0, out + f'  Logical volume "{name}" created.\n', "")


def lvm_uuid() -> str:
    """A new LVM UUID: 32 letters and digits in groups of 6-4-4-4-4-4-6."""
    chars = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                    for _ in range(32))
    return "-".join(chars[a:b] for a, b in ((0, 6), (6, 10), (10, 14), (14, 18), (18, 22), (22, 26), (26, 32)))


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


# mount, umount, mountpoint: a mount point becomes a link to its filesystem's folder

COVERED = f"/{STATE_DIR}/covered"  # mount points' own folders while something is mounted on them
DMESG = "       dmesg(1) may have more information after failed mount system call.\n"


def _abs(path: str) -> str:
    """An argument as an absolute, normalised host path (relative ones from "/", as the steps run them)."""
    return posixpath.normpath("/" + path.lstrip("/"))


def _point(host, target: str) -> str:
    """The local path of the mount point itself: its parent resolved (through other mounts), its name not."""
    parent, name = posixpath.split(target)
    return os.path.join(host.real(parent), name)


def mount(host, argv, stdin) -> Result:
    opts, args = options("mount", argv, "o:t:rw", ["options=", "types=", "read-only", "rw"], code=1)
    given = {o: v for o, v in opts}
    state = host.load_state()
    if not args:
        return Result(0, "".join(f"{m['source']} on {m['target']} type {m['fstype']} ({m['options']})\n"
                                 for m in state["mounts"]), "")
    if len(args) != 2:
        raise Usage("mount: bad usage\nTry 'mount --help' for more information.\n"
                    "[simulated] xenbook's sample host simulates mount [-o OPTIONS] [-t TYPE] SOURCE DIR\n", 1)
    spec, given_dir = args
    target, info = _abs(given_dir), host.stat(_abs(given_dir))
    if info is None or info.kind != "dir":
        what = "mount point does not exist" if info is None else "mount point is not a directory"
        return Result(32, "", f"mount: {given_dir}: {what}.\n{DMESG}")
    dev, key = find_device(state, spec), volume_key(state, spec)
    if dev is None and (host.stat(key) is None or host.stat(key).kind != "file"):
        return Result(32, "", f"mount: {given_dir}: special device {spec} does not exist.\n{DMESG}")
    same = [m for m in state["mounts"] if m["target"] == target]
    source = dev["path"] if dev else None
    if same and (same[-1]["source"] == source or same[-1].get("file") == key):
        return Result(1, "", f"mount: {given_dir}: {source or key} is already mounted.\n")
    vol = state.get("volumes", {}).get(key, {})
    folder = f"{VOLUMES}/{vol['id']}" if vol.get("id") and vol.get("format", "raw") == "raw" else None
    if dev is not None and folder is None and dev["mountpoints"]:  # the machine's own filesystems: mounted again
        folder, vol = dev["mountpoints"][0], {"fstype": dev["fstype"]}
    wanted = [v for o, v in opts if o in ("-t", "--types")]
    if source is None:
        used = {int(lo["name"][4:]) for lo in state.setdefault("loops", [])}
        source = f"/dev/loop{min(set(range(len(used) + 1)) - used)}"
    if folder is None or (wanted and wanted[-1] not in ("auto", vol.get("fstype"))):
        return Result(32, "", f"mount: {given_dir}: wrong fs type, bad option, bad superblock on {source}, missing "
                              f"codepage or helper program, or other error.\n{DMESG}")
    if same or target == "/":
        return Result(32, "", f"mount: {given_dir}: [simulated] xenbook's sample host does not stack mounts\n")
    point, covered = _point(host, target), f"{COVERED}/{secrets.token_hex(6)}"
    host.makedirs(COVERED)
    os.rename(point, host.real(covered))
    up = os.path.relpath(host.root, os.path.dirname(point))  # via the sample's root: chroot views follow it
    os.symlink(os.path.join(up, host.real(folder)[len(host.root) + 1:]), point)
    if dev is None:
        state["loops"].append({"name": source[5:], "file": key})
        host.write_atomic(source, stand_in(f"loop device {source} backed by {key}"), mode=0o660)
    ro = "ro" in ",".join(v for o, v in opts if o in ("-o", "--options")).split(",") or "-r" in given
    state["mounts"].append({"target": target, "source": source, "fstype": vol.get("fstype"), "fsroot": "/",
                            "options": f"{'ro' if ro else 'rw'},relatime", "covered": covered,
                            **({"file": key} if dev is None else {})})
    host.save_state(state)
    return Result(0, "", "")


def umount(host, argv, stdin) -> Result:
    opts, args = options("umount", argv, "Rlf", ["recursive", "lazy", "force"], code=1)
    recursive = any(o in ("-R", "--recursive") for o, _ in opts)
    state, out_err, rc = host.load_state(), "", 0
    for arg in args:
        path, dev = _abs(arg), find_device(state, arg)
        mine = [m for m in state["mounts"] if m["target"] == path or (dev and m["source"] == dev["path"])
                or m.get("file") == path]
        if not mine:
            rc, out_err = 32, out_err + (f"umount: {arg}: not mounted.\n" if host.exists(path) or dev else
                                         f"umount: {arg}: no mount point specified.\n")
            continue
        top = mine[-1]["target"]
        below = [m for m in state["mounts"] if m["target"].startswith(top.rstrip("/") + "/")]
        if below and not recursive:
            rc, out_err = 32, out_err + f"umount: {top}: target is busy.\n"
            continue
        for m in sorted(below, key=lambda m: -len(m["target"])) + [mine[-1]]:
            if "covered" not in m:
                return Result(32, "", f"umount: {m['target']}: [simulated] xenbook's sample host keeps its own "
                                      "filesystems mounted\n")
            point = _point(host, m["target"])
            os.unlink(point)
            os.rename(host.real(m["covered"]), point)
            state["mounts"].remove(m)
            if "file" in m:
                state["loops"] = [lo for lo in state["loops"] if f"/dev/{lo['name']}" != m["source"]]
                host.remove(m["source"])
        host.save_state(state)
    return Result(rc, "", out_err)


def mountpoint(host, argv, stdin) -> Result:
    opts, args = options("mountpoint", argv, "q", ["quiet"], code=1)
    quiet = bool(opts)
    if len(args) != 1:
        raise Usage("mountpoint: bad usage\nTry 'mountpoint --help' for more information.\n", 1)
    path = _abs(args[0])
    if host.stat(path) is None:
        return Result(1, "", "" if quiet else f"mountpoint: {args[0]}: No such file or directory\n")
    yes = any(m["target"] == path for m in host.load_state()["mounts"])
    return Result(0 if yes else 32, "" if quiet else f"{args[0]} is {'' if yes else 'not '}a mountpoint\n", "")


PROGRAMS = {"vgs": vgs, "lvs": lvs, "lvcreate": lvcreate, "mkfs.ext4": mkfs_ext4, "mke2fs": mkfs_ext4,
            "mount": mount, "umount": umount, "mountpoint": mountpoint, "truncate": truncate, "qemu-img": qemu_img}
