"""The sample host's SIMULATED debugfs: `debugfs [-c] [-D] -R 'stat PATH'|'dump [-p] PATH OUT' DEVICE` reads a
file's inode or contents from the ext4 filesystem on an LV, partition or raw image without mounting it (the files of
the sample's filesystems are in .xenbook-sample/volumes/<id>). Like the real one, it exits 0 even when the request
fails and says why on stderr."""

from __future__ import annotations

import getopt
import os
import posixpath
import stat as stat_mod
import time

from xenbook.core.commands import Result
from xenbook_sample.host import find_device
from xenbook_sample.options import Usage
from xenbook_sample.storage import VOLUMES, _abs, file_volume, volume_key

BANNER = "debugfs 1.47.3 (8-Jul-2025)\n"
TYPES = {stat_mod.S_IFREG: "regular", stat_mod.S_IFDIR: "directory", stat_mod.S_IFLNK: "symlink"}


def _when(seconds: int) -> str:
    return f"0x{seconds:08x}:00000000 -- {time.strftime('%a %b %e %H:%M:%S %Y', time.gmtime(seconds))}"


def _stat(real: str) -> str:
    info = os.lstat(real)
    kind = TYPES.get(stat_mod.S_IFMT(info.st_mode), "unknown")
    text = (f"Inode: {info.st_ino % 1048576 + 11}   Type: {kind:<10} Mode:  {stat_mod.S_IMODE(info.st_mode):04o}   "
            f"Flags: 0x{0 if kind == 'symlink' else 0x80000:x}\nGeneration: 0    Version: 0x00000000:00000000\n"
            f"User:     0   Group:     0   Project:     0   Size: {info.st_size}\nFile ACL: 0\n"
            f"Links: {info.st_nlink}   Blockcount: {-(-info.st_size // 4096) * 8}\n"
            "Fragment:  Address: 0    Number: 0    Size: 0\n"
            f" ctime: {_when(int(info.st_ctime))}\n atime: {_when(int(info.st_atime))}\n"
            f" mtime: {_when(int(info.st_mtime))}\ncrtime: {_when(int(info.st_ctime))}\n"
            "Size of extra inode fields: 32\n")
    if kind == "symlink":
        return text + f'Fast link dest: "{os.readlink(real)}"\n'
    blocks = -(-info.st_size // 4096)
    return text + ("EXTENTS:\n" + f"(0-{blocks - 1}):34816-{34816 + blocks - 1}\n" if blocks else "")


def debugfs(host, argv, stdin) -> Result:
    try:
        opts, args = getopt.getopt(argv[1:], "cDR:")
    except getopt.GetoptError as e:
        raise Usage(f"debugfs: invalid option -- '{e.opt}'\n", 1)
    request = dict(opts).get("-R")
    if request is None or len(args) != 1:
        raise Usage("debugfs: [simulated] xenbook's sample host simulates debugfs -R REQUEST DEVICE\n", 1)
    words, spec, state = request.split(), args[0], host.load_state()
    cmd = words[0] if words else ""
    if find_device(state, spec) is None and host.stat(_abs(spec)) is None:
        return Result(0, "", f"{BANNER}debugfs: No such file or directory while trying to open {spec}\n"
                             f"{cmd}: Filesystem not open\n")
    key = volume_key(state, spec)
    vol = state.get("volumes", {}).get(key, {}) if find_device(state, spec) else file_volume(host, state, key)
    if vol.get("fstype") not in ("ext2", "ext3", "ext4") or vol.get("format", "raw") != "raw":
        return Result(0, "", f"{BANNER}debugfs: Bad magic number in super-block while trying to open {spec}\n"
                             f"{cmd}: Filesystem not open\n")
    root = host.real(f"{VOLUMES}/{vol['id']}") if vol.get("id") else None  # None: no files written yet
    preserve = cmd == "dump" and len(words) > 1 and words[1] == "-p"
    names = [w for w in words[1:] if w != "-p"] if cmd == "dump" else words[1:]
    if cmd not in ("stat", "dump") or len(names) != (1 if cmd == "stat" else 2):
        return Result(0, "", BANNER + "debugfs: [simulated] xenbook's sample host simulates the requests "
                                      "'stat PATH' and 'dump [-p] PATH OUT'\n")
    real = (root or "") + posixpath.normpath("/" + names[0].lstrip("/"))
    if root is None or not os.path.lexists(real):
        return Result(0, "", f"{BANNER}{names[0]}: File not found by ext2_lookup \n")
    if cmd == "stat":
        return Result(0, _stat(real), BANNER)
    out = _abs(names[1])
    parent = host.stat(posixpath.dirname(out))
    if parent is None or parent.kind != "dir":
        return Result(0, "", f"{BANNER}dump: No such file or directory while opening {names[1]} for dump_inode "
                             "[simulated wording]\n")
    info = os.stat(real)
    with open(real, "rb") as f:
        host.write_atomic(out, f.read(), mode=stat_mod.S_IMODE(info.st_mode) if preserve else 0o666 & ~0o022)
    if preserve:  # dump -p: the inode's owner, mode and times (whole seconds, as utime(2) sets them)
        os.chmod(host.real(out), stat_mod.S_IMODE(info.st_mode))
        os.utime(host.real(out), (int(info.st_atime), int(info.st_mtime)))
    return Result(0, "", BANNER)


PROGRAMS = {"debugfs": debugfs}
