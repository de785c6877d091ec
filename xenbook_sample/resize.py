"""Growing a guest's disk on the sample host: lvextend (SIMULATED, over the "lvm" state key), and e2fsck and
resize2fs, which on an image file (a real sparse file in the tree) are this machine's REAL tools, as mkfs.ext4 is
(images.py), and on an LV are SIMULATED: the volume's filesystem then grows with the volume in state.json."""

from __future__ import annotations

import getopt
import posixpath
import re

from xenbook.connectors.rooted import run_local
from xenbook.core.commands import Result
from xenbook_sample import images
from xenbook_sample.lvm import UNITS
from xenbook_sample.storage import dm_path
from xenbook_sample.options import Usage, options
from xenbook_sample.storage import volume_key, volume_size


def _size(value: int) -> str:
    p = max(i for i in range(6) if value >= 1024 ** i or i == 0)
    return f"{value / 1024 ** p:.2f} {['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'][p]}"


def lvextend(host, argv, stdin) -> Result:
    """lvextend -L [+]SIZE VG/LV (or /dev/VG/LV): a larger size only, in whole extents, from the group's free ones."""
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "L:y", ["size=", "yes"])
    except getopt.GetoptError as e:
        raise Usage(f"lvextend: {e.msg}\n  Error during parsing of command line.\n", 3)
    given = {"-L" if o == "--size" else o: v for o, v in opts}
    if len(args) != 1 or "-L" not in given:
        raise Usage("  No command with matching syntax recognised.  Run 'lvextend --help' for more information.\n"
                    "[simulated] xenbook's sample host simulates lvextend -L [+]SIZE VG/LV\n", 3)
    vg, _, name = args[0].removeprefix("/dev/").partition("/")
    state = host.load_state()
    info = state.get("lvm", {}).get(vg)
    lv = next((x for x in (info or {}).get("lvs", []) if x["name"] == name), None)
    if lv is None:
        return Result(5, "", f'  Failed to find logical volume "{vg}/{name}"\n')
    m = re.fullmatch(r"(\+?)(\d+(?:\.\d+)?)([bskmgtpBSKMGTP]?)", given["-L"])
    if not m:
        return Result(3, "", f"  Invalid argument for --size: {given['-L']}\n  Error during parsing of command line.\n")
    size, out = info["extent_size"], ""
    wanted = int(float(m.group(2)) * UNITS[m.group(3).lower()])
    extents = -(-wanted // size) + (lv["extents"] if m.group(1) else 0)
    if extents * size != wanted and not m.group(1):
        out += f"  Rounding size to boundary between physical extents: {_size(extents * size)}.\n"
    if extents == lv["extents"]:
        return Result(5, out, f"  New size ({extents} extents) matches existing size ({extents} extents).\n")
    if extents < lv["extents"]:
        return Result(5, out, f"  New size given ({extents} extents) not larger than existing size "
                              f"({lv['extents']} extents)\n")
    free = sum(pv["pe_count"] for pv in info["pvs"]) - sum(x["extents"] for x in info["lvs"])
    if extents - lv["extents"] > free:
        return Result(5, out, f"  Insufficient free space: {extents - lv['extents']} extents needed, but only "
                              f"{free} available\n")
    before, lv["extents"] = lv["extents"], extents
    vol = state.get("volumes", {}).get(dm_path(vg, name))
    if vol and vol.get("fstype") and "blocks" not in vol:  # its filesystem keeps its size until resize2fs
        vol["blocks"] = before * size // 4096
    host.save_state(state)
    return Result(0, out + f"  Size of logical volume {vg}/{name} changed from {_size(before * size)} ({before} "
                           f"extents) to {_size(extents * size)} ({extents} extents).\n"
                           f"  Logical volume {vg}/{name} successfully resized.\n", "")


def _real(host, prog: str, opts: list[tuple[str, str]], short: str, spec: str, rest: list[str]) -> Result | None:
    """The real tool's answer on an image file, or None when spec is no image or the tool is missing here."""
    local = images.image_file(host, posixpath.normpath(posixpath.join("/", spec)))
    tool = images.find_tool(prog) if local and not images.stand_in(local) else None
    if tool is None:
        return None
    result = run_local([tool, *images._rebuild(opts, short), local, *rest])
    host.answered_by("real", command=True)
    return images._back(result, {local: spec})


def _filesystem(host, spec: str) -> tuple[dict, str, list[str]]:
    """The volume's filesystem entry, its key, and where it is mounted."""
    state = host.load_state()
    key = volume_key(state, spec)
    mounts = [m["target"] for m in state.get("mounts", []) if volume_key(state, m["source"]) == key]
    return state.get("volumes", {}).get(key, {}), key, mounts


def e2fsck(host, argv, stdin) -> Result:
    opts, args = options("e2fsck", argv, "fpnyC:", [], code=16)
    if len(args) != 1:
        raise Usage("Usage: e2fsck [-panyrcdfktvDFV] [-b superblock] [-B blocksize] device\n", 16)
    real = _real(host, "e2fsck", opts, "fpnyC:", args[0], [])
    if real is not None:
        return real
    vol, key, mounts = _filesystem(host, args[0])
    if mounts:
        return Result(8, "", f"{args[0]} is mounted.\ne2fsck: Cannot continue, aborting.\n\n\n")
    if vol.get("fstype") not in ("ext2", "ext3", "ext4"):
        return Result(8, "", f"e2fsck: Bad magic number in super-block while trying to open {args[0]}\n")
    blocks = volume_size(host, host.load_state(), key) // 4096
    return Result(0, f"{vol.get('label') or args[0]}: 11/{blocks // 4} files (0.0% non-contiguous), "
                     f"{blocks // 20}/{blocks} blocks\n", "")


def resize2fs(host, argv, stdin) -> Result:
    opts, args = options("resize2fs", argv, "fFMPp", [])
    if len(args) != 1:
        raise Usage("Usage: resize2fs [-d debug_flags] [-f] [-F] [-M] [-P] [-p] device [-b|-s|new_size] [-S "
                    "RAID-stride] [-z undo_file]\n\n", 1)
    real = _real(host, "resize2fs", opts, "fFMPp", args[0], [])
    if real is not None:
        return real
    vol, key, mounts = _filesystem(host, args[0])
    if mounts:
        return Result(1, "", f"resize2fs: [simulated] xenbook's sample host does not resize {args[0]} while it is "
                             f"mounted on {mounts[0]}\n")
    if vol.get("fstype") not in ("ext2", "ext3", "ext4"):
        return Result(1, "", f"resize2fs: Bad magic number in super-block while trying to open {args[0]}\n")
    state = host.load_state()
    blocks = volume_size(host, state, key) // 4096
    state["volumes"][key]["blocks"] = blocks
    host.save_state(state)
    return Result(0, f"Resizing the filesystem on {args[0]} to {blocks} (4k) blocks.\nThe filesystem on {args[0]} "
                     f"is now {blocks} (4k) blocks long.\n\n", "resize2fs 1.47.3 (8-Jul-2025)\n")


def dumpe2fs(host, argv, stdin) -> Result:
    """dumpe2fs -h: the superblock's block count and size (an LV's filesystem fills it unless lvextend grew it)."""
    opts, args = options("dumpe2fs", argv, "h", [])
    if len(args) != 1 or ("-h", "") not in opts:
        raise Usage("Usage: dumpe2fs [-bfghimxV] [-o superblock=<num>] [-o blocksize=<num>] device\n"
                    "[simulated] xenbook's sample host simulates only dumpe2fs -h DEVICE\n", 1)
    real = _real(host, "dumpe2fs", opts, "h", args[0], [])
    if real is not None:
        return real
    vol, key, _ = _filesystem(host, args[0])
    if vol.get("fstype") not in ("ext2", "ext3", "ext4"):
        return Result(1, "", f"dumpe2fs 1.47.3 (8-Jul-2025)\ndumpe2fs: Bad magic number in super-block while trying "
                             f"to open {args[0]}\nCouldn't find valid filesystem superblock.\n")
    blocks = vol.get("blocks") or volume_size(host, host.load_state(), key) // 4096
    return Result(0, f"Filesystem volume name:   {vol.get('label') or '<none>'}\nFilesystem UUID:          "
                     f"{vol.get('uuid')}\nBlock count:              {blocks}\nBlock size:               4096\n\n",
                  "dumpe2fs 1.47.3 (8-Jul-2025)\n")


PROGRAMS = {"lvextend": lvextend, "e2fsck": e2fsck, "resize2fs": resize2fs, "dumpe2fs": dumpe2fs}
