"""The sample host's mkfs.ext4 and mke2fs: on an image file (a real sparse file in the tree) this machine's REAL
mkfs.ext4 runs (images.py), and the new filesystem gets its folder .xenbook-sample/volumes/<UUID>; on an LV, a loop
device, or an image file when this machine has no mkfs.ext4, the SIMULATION records the filesystem (fstype, uuid,
label) in state.json's "volumes" and says so."""

from __future__ import annotations

import posixpath
import re

from xenbook.core.commands import Result
from xenbook_sample import images
from xenbook_sample.host import find_device
from xenbook_sample.options import Usage, options
from xenbook_sample.storage import new_volume, volume_key, volume_size

SHORT = "qFL:U:m:b:E:O:N:i:I:jT:t:"


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


def mkfs_ext4(host, argv, stdin) -> Result:
    prog = posixpath.basename(argv[0])
    opts, args = options(prog, argv, SHORT, [])
    given = {o: v for o, v in opts}
    if not args:
        raise Usage(f"Usage: {prog} [-c|-l filename] [-b block-size] ... device [blocks-count]\n", 1)
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
    local = images.image_file(host, key) if dev is None else None
    tool = images.find_tool(prog) if local and not images.stand_in(local) else None
    if tool:
        result = images.real_mkfs(host, tool, opts, SHORT, spec, local, args[1:])
        made = images.superblock(local) if result.ok else None
        if made:
            new_volume(host, state, key, made)
            host.save_state(state)
        return result
    note = images.missing(prog) if local else ""
    uuid = given.get("-U") or _uuid4()
    if uuid in ("random", "time"):
        uuid = _uuid4()
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", uuid):
        return Result(1, "", f"{spec}: could not parse UUID: {uuid}\n\n{note}")
    label = given.get("-L")
    if label and len(label.encode()) > 16:
        label = label.encode()[:16].decode(errors="ignore")
        err += f"Warning: label too long; will be truncated to '{label}'\n\n"
    old = state.get("volumes", {}).get(key, {})
    if old.get("fstype") and "-F" not in given:
        return Result(1, f"{spec} contains a {old['fstype']} file system" + (f" labelled '{old['label']}'" if
                                                                              old.get("label") else "") +
                      "\nProceed anyway? (y,N) ", err + note)
    size = volume_size(host, state, key)
    new_volume(host, state, key, {"fstype": "ext4", "uuid": uuid.lower(), "label": label} |
               ({"simulated": True} if local else {}))
    host.save_state(state)
    return Result(0, "" if "-q" in given else _mke2fs_report(uuid.lower(), size), err + note)


def _uuid4() -> str:
    import uuid
    return str(uuid.uuid4())


PROGRAMS = {"mkfs.ext4": mkfs_ext4, "mke2fs": mkfs_ext4}
