"""The sample host's image files are REAL sparse files inside its tree, formatted and probed by this machine's REAL
mkfs.ext4 (mke2fs) and blkid: the same argv, the file's local path in place of the host path (and the host path again
in what the tool prints), blkid with a private, empty cache so that the machine's own cache is never read or written.
When a tool is missing on this machine, the simulation in storage.py and blockdev.py answers instead and says so on
stderr. LVs and partitions stay simulated.

A filesystem made on an image still gets its folder .xenbook-sample/volumes/<UUID>, named by the UUID read from the
image's superblock, and mounting the image links the mount point to that folder: files written under the mount point
stay in the folder and never go into the image, so the image holds the empty filesystem mkfs.ext4 made (the
sample's debugfs reads the folder). A file with no ext2/3/4 superblock (a qcow2, an image a guest's installer
partitioned) has no folder and does not mount.

On an image that is still all holes, mke2fs gets -E assume_storage_prezeroed=1: it then skips writing the zeros the
file already reads as (the journal, the inode tables); the image is byte for byte the same, a few MiB on disk instead
of over a hundred."""

from __future__ import annotations

import errno
import functools
import os
import posixpath
import re
import shutil
import stat as stat_mod
from typing import Iterator

from xenbook.connectors.rooted import run_local
from xenbook.core.commands import Result

SBIN = ("/usr/sbin", "/sbin")  # where e2fsprogs and blkid live, often outside an unprivileged user's PATH
PRIVATE_CACHE = "/dev/null"
EXT_MAGIC, EXTENTS, JOURNAL = 0xEF53, 0x40, 0x4


def find_tool(name: str) -> str | None:
    """This machine's program name, or None when it is not installed."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN]))


def missing(name: str) -> str:
    """The note a simulated answer carries when the real tool is missing."""
    return (f"[simulated] {name} is not installed on this machine: xenbook's sample host answered with its "
            "simulation\n")


def image_file(host, spec: str) -> str | None:
    """The local path of spec when it names a regular file of the tree outside /dev (an image), else None."""
    if not spec.startswith("/") or spec.startswith("/dev/"):
        return None
    path = posixpath.normpath(spec)
    info = host.stat(path)
    return host.real(path) if info is not None and info.kind == "file" else None


def _rebuild(opts: list[tuple[str, str]], short: str) -> list[str]:
    """Options as argv words again (values kept as separate words)."""
    out: list[str] = []
    for o, v in opts:
        if o.startswith("--"):
            out.append(f"{o}={v}" if v else o)
        else:
            out += [o, v] if f"{o[1]}:" in short else [o]
    return out


def _back(result: Result, names: dict[str, str]) -> Result:
    """What a real tool printed, with each local path named as the host path it was given as."""
    out, err = result.stdout, result.stderr
    for local, spec in names.items():
        out, err = out.replace(local, spec), err.replace(local, spec)
    return Result(result.returncode, out, err)


def real_blkid(host, tool: str, opts: list[tuple[str, str]], short: str, files: dict[str, str]) -> Result:
    """blkid on image files (host path → local path), answered by the real one with a private cache."""
    argv = [tool, "-c", PRIVATE_CACHE, *_rebuild([(o, v) for o, v in opts if o not in ("-c", "--cache-file")],
                                                 short), *files.values()]
    result = run_local(argv, env={**os.environ, "BLKID_FILE": PRIVATE_CACHE})
    host.answered_by("real", command=True)
    return _back(result, {v: k for k, v in files.items()})


@functools.lru_cache(maxsize=None)
def _prezeroed_known(tool: str) -> bool:
    """True when this mke2fs knows -E assume_storage_prezeroed (1.47 and later)."""
    m = re.search(r"mke2fs (\d+)\.(\d+)", run_local([tool, "-V"]).stderr)
    return bool(m) and (int(m[1]), int(m[2])) >= (1, 47)


def all_holes(local: str) -> bool:
    """True when the file has no data at all (a fresh sparse file)."""
    with open(local, "rb") as f:
        try:
            os.lseek(f.fileno(), 0, os.SEEK_DATA)
        except OSError as e:
            return e.errno == errno.ENXIO
    return False


def real_mkfs(host, tool: str, opts: list[tuple[str, str]], short: str, spec: str, local: str,
              rest: list[str]) -> Result:
    """mkfs.ext4 on the image file at local, answered by the real one."""
    words = _rebuild(opts, short)
    if all_holes(local) and _prezeroed_known(tool):
        given = [v for o, v in opts if o == "-E"]
        words = _rebuild([(o, v) for o, v in opts if o != "-E"], short) + [
            "-E", ",".join(given[-1:] + ["assume_storage_prezeroed=1"])]
    result = run_local([tool, *words, local, *rest])
    host.answered_by("real", command=True)
    return _back(result, {local: spec})


def superblock(local: str) -> dict | None:
    """fstype, uuid and label from the ext2/3/4 superblock of the file at local, None when it has none."""
    try:
        with open(local, "rb") as f:
            f.seek(1024)
            sb = f.read(136)
    except OSError:
        return None
    if len(sb) < 136 or int.from_bytes(sb[56:58], "little") != EXT_MAGIC:
        return None
    compat, incompat = int.from_bytes(sb[92:96], "little"), int.from_bytes(sb[96:100], "little")
    raw = sb[104:120].hex()
    uuid = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
    label = sb[120:136].split(b"\0")[0].decode(errors="replace") or None
    fstype = "ext4" if incompat & EXTENTS else "ext3" if compat & JOURNAL else "ext2"
    return {"fstype": fstype, "uuid": uuid, "label": label}


def data_ranges(local: str) -> Iterator[tuple[int, int]]:
    """(offset, length) of each stretch of data in a sparse file; holes are skipped."""
    with open(local, "rb") as f:
        fd, end, at = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while at < end:
            try:
                start = os.lseek(fd, at, os.SEEK_DATA)
            except OSError:
                return
            at = os.lseek(fd, start, os.SEEK_HOLE)
            yield start, at - start


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW, 0o666)


def copy_sparse(src: str, dst: str, *, follow_symlinks: bool = True, stat: bool = True) -> str:
    """shutil.copy2 (without stat: shutil.copyfile) that keeps a sparse file's holes: of a 20 GiB image holding a
    few MiB, those MiB are read and written."""
    if os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(src))
    if not follow_symlinks and os.path.islink(src) or not stat_mod.S_ISREG(os.stat(src).st_mode):
        return (shutil.copy2 if stat else shutil.copyfile)(src, dst, follow_symlinks=follow_symlinks)
    size = os.stat(src).st_size
    with open(src, "rb") as fin, open(dst, "wb", opener=_no_follow) as fout:  # never through a link at dst
        for start, length in data_ranges(src):
            fin.seek(start)
            fout.seek(start)
            while length > 0:
                chunk = fin.read(min(length, 1 << 20))
                if not chunk:
                    break
                fout.write(chunk)
                length -= len(chunk)
        fout.truncate(size)
    if stat:
        shutil.copystat(src, dst)
    return dst


def stand_in(local: str) -> bool:
    """True for the small labelled file an older sample host kept in place of an image (its filesystem is only in
    state.json)."""
    with open(local, "rb") as f:
        return f.read(9) == b"SIMULATED"
