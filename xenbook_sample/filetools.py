"""The sample host's SIMULATED rsync (mounts followed, the simulator's own folder never, --exclude honoured),
mkdir, cp, install -D, mv and stat -c, as the domU steps call them."""

from __future__ import annotations

import getopt
import os
import posixpath
import re
import shutil

from xenbook.core.commands import Result
from xenbook_sample.accounts import install as install_dirs
from xenbook_sample.images import copy_sparse
from xenbook_sample.mounts import _point
from xenbook_sample.options import Usage, options
from xenbook_sample.storage import _abs
from xenbook_sample.tree import STATE_DIR


# rsync: copy a tree of the sample (mounts followed, the simulator's own folder never), honouring --exclude

def _glob(pattern: str) -> str:
    return "".join(".*" if t == "**" else "[^/]*" if t == "*" else "[^/]" if t == "?" else re.escape(t)
                   for t in re.findall(r"\*\*|\*|\?|[^*?]+", pattern))


def _excluded(patterns: list[str], rel: str, is_dir: bool) -> bool:
    for p in patterns:
        if p.endswith("/") and not is_dir:
            continue
        body = _glob(p.rstrip("/").lstrip("/"))
        if re.fullmatch(body if p.startswith("/") else f"(?:.*/)?{body}", rel.lstrip("/")):
            return True
    return False


def rsync(host, argv, stdin) -> Result:
    try:
        opts, args = getopt.gnu_getopt(argv[1:], "aAXHvxrlptgoD", ["numeric-ids", "exclude=", "one-file-system",
                                                                  "archive", "acls", "xattrs", "hard-links"])
    except getopt.GetoptError as e:
        return Result(1, "", f"rsync: {e.msg}\nrsync error: syntax or usage error (code 1) at main.c(1795) "
                             "[client=3.4.1]\n")
    excludes, one_fs = [v for o, v in opts if o == "--exclude"], any(o in ("-x", "--one-file-system")
                                                                       for o, _ in opts)
    if len(args) != 2:
        raise Usage("rsync: [simulated] xenbook's sample host simulates rsync [-aAXHx] [--exclude=P]... SRC DST\n", 1)
    src, dst = _abs(args[0]), _abs(args[1])
    if host.stat(src) is None:
        return Result(23, "", f'rsync: [sender] change_dir "{src}" failed: No such file or directory (2)\nrsync '
                              "error: some files/attrs were not transferred (see previous errors) (code 23) at "
                              "main.c(1338) [sender=3.4.1]\n")
    base = src if args[0].endswith("/") or host.stat(src).kind != "dir" else posixpath.dirname(src)
    target = dst if args[0].endswith("/") else posixpath.join(dst, posixpath.basename(src))
    mounts = {m["target"] for m in host.load_state()["mounts"]}
    follow, errors = mounts | {target}, []  # the destination named on the command line is followed, as by rsync

    def copy(path: str, rel: str, dest: str) -> None:
        point, mounted = _local(host, path), path in mounts  # a mount point (a link here): rsync descends unless -x
        if os.path.islink(point) and not mounted:
            to = _into(host, dest, follow, errors)
            if to is not None:
                os.symlink(os.readlink(point), to)
        elif os.path.isdir(host.real(path)):
            to = _into(host, dest, follow, errors, folder=True)
            if to is None:
                return
            shutil.copystat(host.real(path), to)
            if path == dst or (one_fs and mounted and path != base):
                return
            for name in sorted(os.listdir(host.real(path))):
                child, sub = posixpath.join(path, name), posixpath.join(rel, name)
                if child != f"/{STATE_DIR}" and not _excluded(excludes, sub, os.path.isdir(host.real(child))):
                    copy(child, sub, posixpath.join(dest, name))
        else:
            to = _into(host, dest, follow, errors)
            if to is not None:
                copy_sparse(host.real(path), to)

    host.makedirs(posixpath.dirname(target) if target != "/" else "/")
    copy(src, "/" + posixpath.relpath(src, base) if src != base else "/", target)
    if errors:
        return Result(23, "", "".join(errors) + "rsync error: some files/attrs were not transferred (see previous "
                                                "errors) (code 23) at main.c(1338) [sender=3.4.1]\n")
    return Result(0, "", "")


def _local(host, path: str) -> str:
    """The local path of path itself: its folder resolved inside the sample (through mounts), its name not."""
    return host.real("/") if path == "/" else _point(host, path)


def _into(host, dest: str, follow: set[str], errors: list[str], folder: bool = False) -> str | None:
    """The local path rsync writes dest at, inside the sample: the destination argument and mount points resolved
    (clamped at the sample's root), an existing folder kept for a folder, and otherwise a fresh entry (a link or
    file already there is removed: rsync replaces a link in the destination, it never writes through one); None,
    with the error, for a folder in the way of a file."""
    if dest == "/" or dest in follow:
        to = host.real(dest)
        if folder:
            os.makedirs(to, exist_ok=True)
        return to
    to = _local(host, dest)
    if os.path.isdir(to) and not os.path.islink(to):
        if folder:
            return to
        errors.append(f"rsync: [generator] delete_file: rmdir({dest}) failed: Directory not empty (39)\n")
        return None
    if os.path.lexists(to):
        os.unlink(to)
    if folder:
        os.mkdir(to)
    return to


# mkdir, cp, install, truncate, qemu-img

def mkdir(host, argv, stdin) -> Result:
    opts, args = options("mkdir", argv, "pm:v", ["parents", "mode=", "verbose"])
    given, err = {o: v for o, v in opts}, ""
    mode = given.get("-m", given.get("--mode"))
    if mode is not None and not re.fullmatch(r"[0-7]{1,4}", mode):
        raise Usage(f"mkdir: invalid mode '{mode}'\n[simulated] only octal modes\n", 1)
    parents = "-p" in given or "--parents" in given
    for arg in args:
        path, info = _abs(arg), host.stat(_abs(arg))
        parent = host.stat(posixpath.dirname(path))
        if info is not None and (info.kind != "dir" or not parents):
            err += f"mkdir: cannot create directory '{arg}': File exists\n"
        elif info is None and not parents and (parent is None or parent.kind != "dir"):
            err += f"mkdir: cannot create directory '{arg}': No such file or directory\n"
        elif info is None:
            host.makedirs(path)
            os.chmod(host.real(path), int(mode or "755", 8))
    return Result(1 if err else 0, "", err)


def _copy(host, prog: str, src: str, dst: str, preserve: bool, mode: int | None = None) -> str:
    info = host.stat(_abs(src))
    if info is None:
        return f"{prog}: cannot stat '{src}': No such file or directory\n"
    if info.kind == "dir":
        return f"{prog}: -r not specified; omitting directory '{src}'\n"
    into = host.stat(_abs(dst)) is not None and host.stat(_abs(dst)).kind == "dir"
    target = posixpath.join(_abs(dst), posixpath.basename(src)) if into else _abs(dst)
    parent = host.stat(posixpath.dirname(target))
    if parent is None or parent.kind != "dir" or (dst.endswith("/") and not into) or \
            not os.path.isdir(os.path.dirname(host.real(target))):  # a link at target into a missing folder
        why = "Not a directory" if dst.endswith("/") else "No such file or directory"
        return f"{prog}: cannot create regular file '{dst}': {why}\n"
    copy_sparse(host.real(_abs(src)), host.real(target), stat=preserve)
    os.chmod(host.real(target), info.mode if mode is None else mode)
    return ""


def cp(host, argv, stdin) -> Result:
    opts, args = options("cp", argv, "pafT", ["preserve=", "archive", "force", "no-target-directory"])
    if len(args) < 2:
        raise Usage(f"cp: missing destination file operand after '{args[0] if args else ''}'\n"
                    "Try 'cp --help' for more information.\n", 1)
    keep = any(o in ("-p", "-a", "--archive", "--preserve") for o, _ in opts)
    err = "".join(_copy(host, "cp", s, args[-1], keep) for s in args[:-1])
    return Result(1 if err else 0, "", err)


def install(host, argv, stdin) -> Result:
    opts, args = options("install", argv, "dDm:o:g:pC", ["directory", "mode=", "owner=", "group=",
                                                         "preserve-timestamps", "compare"])
    flags = {o: v for o, v in opts}
    if "-d" in flags or "--directory" in flags:
        return install_dirs(host, argv, stdin)
    if len(args) != 2:
        raise Usage("install: [simulated] xenbook's sample host simulates install [-D] [-m MODE] SRC DST\n", 1)
    if "-D" in flags:
        host.makedirs(posixpath.dirname(_abs(args[1])))
    err = _copy(host, "install", args[0], args[1], "-p" in flags, int(flags.get("-m", flags.get("--mode", "755")), 8))
    return Result(1 if err else 0, "", err)


def mv(host, argv, stdin) -> Result:
    opts, args = options("mv", argv, "fT", ["force", "no-target-directory"])
    if len(args) != 2:
        raise Usage("mv: [simulated] xenbook's sample host simulates mv [-f] SRC DST\n", 1)
    src, dst = _abs(args[0]), _abs(args[1])
    if host.stat(src) is None:
        return Result(1, "", f"mv: cannot stat '{args[0]}': No such file or directory\n")
    if host.stat(posixpath.dirname(dst)) is None or not os.path.isdir(os.path.dirname(host.real(dst))):
        return Result(1, "", f"mv: cannot move '{args[0]}' to '{args[1]}': No such file or directory\n")
    os.replace(host.real(src), host.real(dst))
    return Result(0, "", "")


STAT_FORMAT = re.compile(r"%[sYna%]")


def stat(host, argv, stdin) -> Result:
    opts, args = options("stat", argv, "c:L", ["format=", "dereference"])
    fmt = dict(opts).get("-c", dict(opts).get("--format"))
    if fmt is None or not args:
        raise Usage("stat: [simulated] xenbook's sample host simulates stat -c FORMAT (%s %Y %n %a) FILE...\n", 1)
    out, err = "", ""
    for arg in args:
        real = host.real(_abs(arg))
        if not os.path.exists(real):
            err += f"stat: cannot statx '{arg}': No such file or directory\n"
            continue
        info = os.stat(real)
        values = {"%s": str(info.st_size), "%Y": str(int(info.st_mtime)), "%n": arg,
                  "%a": f"{info.st_mode & 0o7777:o}", "%%": "%"}
        out += STAT_FORMAT.sub(lambda m: values[m.group(0)], fmt) + "\n"
    return Result(1 if err else 0, out, err)


PROGRAMS = {"rsync": rsync, "mkdir": mkdir, "cp": cp, "install": install, "mv": mv, "stat": stat}
