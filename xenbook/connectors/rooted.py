"""File operations for hosts whose files are a local directory tree (local '/', a chroot, the sample host)."""

from __future__ import annotations

import errno
import os
import posixpath
import re
import shutil
import stat as statmod
import tempfile
from typing import Sequence

from xenbook.connectors.process import run_local
from xenbook.core.commands import Command, Result
from xenbook.core.errors import HostError
from xenbook.core.host import FileInfo, Host, Validate, check_path

_KINDS = {statmod.S_IFREG: "file", statmod.S_IFDIR: "dir", statmod.S_IFLNK: "link"}


_TEMP_SUFFIX = ".xenbook-new"
_OTHER_KINDS = {statmod.S_IFIFO: "a FIFO (named pipe)", statmod.S_IFSOCK: "a socket", statmod.S_IFCHR:
                "a character device", statmod.S_IFBLK: "a block device"}


def _regular(path: str, st_mode: int) -> None:
    """HostError unless st_mode is a regular file's: xenbook reads and replaces only regular files."""
    if statmod.S_ISREG(st_mode):
        return
    if statmod.S_ISDIR(st_mode):
        raise HostError(f"{path} is a directory, not a file")
    kind = _OTHER_KINDS.get(statmod.S_IFMT(st_mode), "not a regular file")
    raise HostError(f"{path} is {kind} where a regular file should be; xenbook neither reads nor replaces it: "
                    "remove it or move it away (and put the real file back), then plan again")


def _remove_leftovers(folder: str, name: str) -> None:
    """Remove the temporary files of earlier writes of name that a killed process left in folder."""
    pattern = re.compile(rf"\.{re.escape(name)}\.[A-Za-z0-9_]{{8}}{re.escape(_TEMP_SUFFIX)}")
    for entry in os.listdir(folder):
        if pattern.fullmatch(entry):
            try:
                os.unlink(os.path.join(folder, entry))
            except FileNotFoundError:
                pass


def _fsync_folders(folder: str, top: str) -> None:
    """fsync folder and each folder above it up to top, so that new entries and new folders survive a power loss."""
    while True:
        dfd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        parent = os.path.dirname(folder)
        if folder == top or parent == folder or not parent.startswith(top):
            return
        folder = parent


def _without_unix_modes(folder: str) -> bool:
    """True on filesystems such as the vfat EFI partition, where mount options decide modes and owners."""
    result = run_local(["stat", "-f", "-c", "%T", folder])
    return result.ok and result.stdout.strip() in ("msdos", "vfat", "fuseblk", "exfat")


class RootedHost(Host):
    """A host whose filesystem is the directory tree at root on this machine."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def real(self, path: str) -> str:
        """The local path of a host path, following links inside the tree."""
        path = check_path(path)
        if self.root == "/":
            return path
        parts = [p for p in path.split("/") if p]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            candidate = os.path.join(self.root, *resolved, part)
            if os.path.islink(candidate):
                hops += 1
                if hops > 40:
                    raise HostError(f"too many symbolic links under {path}")
                target = os.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
            elif part != ".":
                resolved.append(part)
        return os.path.join(self.root, *resolved)

    def host_path(self, real: str) -> str:
        if self.root == "/":
            return real
        return "/" + os.path.relpath(real, self.root)

    def read_bytes(self, path: str) -> bytes | None:
        """The file's bytes; a FIFO, socket or device at path is refused before it is opened (a FIFO would block)."""
        real = self.real(path)
        try:
            _regular(path, os.stat(real).st_mode)
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
            raise HostError(f"{path} became a link while it was being read; nothing was read: run again") from e
        except PermissionError as e:
            raise HostError(f"cannot read {path}: {e.strerror}; run as root or with sudo") from e
        with os.fdopen(fd, "rb") as f:
            _regular(path, os.fstat(fd).st_mode)  # swapped for another kind after the check above
            return f.read()

    def stat(self, path: str) -> FileInfo | None:
        try:
            st = os.stat(self.real(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return FileInfo(_KINDS.get(statmod.S_IFMT(st.st_mode), "other"), statmod.S_IMODE(st.st_mode),
                        st.st_uid, st.st_gid, st.st_size)

    def listdir(self, path: str) -> list[str] | None:
        try:
            return sorted(os.listdir(self.real(path)))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_atomic(self, path: str, data: bytes, *, mode: int | None = None,
                     validate: Validate | None = None) -> None:
        real = self.real(path)
        folder, name = os.path.split(real)
        if not os.path.isdir(folder):
            raise HostError(f"cannot write {path}: its directory does not exist")
        try:
            old = os.stat(real)
        except FileNotFoundError:
            old = None
        if old is not None:
            _regular(path, old.st_mode)
        _remove_leftovers(folder, name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=_TEMP_SUFFIX, dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                keep = statmod.S_IMODE(old.st_mode) if old else 0o644
                try:
                    os.fchmod(f.fileno(), keep if mode is None else mode)
                    if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                        os.fchown(f.fileno(), old.st_uid, old.st_gid)
                except PermissionError:
                    if not _without_unix_modes(folder):
                        raise
            if validate is not None:
                validate(self.host_path(tmp))
            os.replace(tmp, real)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        os.makedirs(self.real(path), mode=mode, exist_ok=True)

    def remove(self, path: str) -> None:
        """Unlink path itself (a symbolic link, not what it points to), as unlink(2) does."""
        path = check_path(path)
        folder, name = posixpath.split(path)
        try:
            os.unlink(os.path.join(self.real(folder or "/"), name) if name else self.real(path))
        except FileNotFoundError:
            pass

    def remove_tree(self, path: str) -> None:
        """Remove path and what it holds; a symbolic link is unlinked, never followed (nor any link inside)."""
        path = check_path(path)
        folder, name = posixpath.split(path)
        if not name:
            raise HostError("refusing to remove the root directory")
        real = os.path.join(self.real(folder or "/"), name)
        if os.path.islink(real) or not os.path.isdir(real):
            self.remove(path)
            return
        shutil.rmtree(real)

    def copy_file(self, src: str, dst: str) -> None:
        s = self.real(src)
        d = os.path.join(self.real(posixpath.dirname(dst)), posixpath.basename(dst))  # its own name, not a link's
        os.makedirs(os.path.dirname(d), exist_ok=True)
        if os.path.islink(d):  # a backup never writes through a link someone left where it goes
            os.unlink(d)
        shutil.copy2(s, d)
        st = os.stat(s)
        try:
            os.chown(d, st.st_uid, st.st_gid)
        except PermissionError:
            pass
        with open(d, "rb") as f:  # the backup is durable, file and folders, before the ledger names it
            os.fsync(f.fileno())
        _fsync_folders(os.path.dirname(d), self.root)

    def append(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        self._open_write(path, data, os.O_APPEND, mode)

    def create_exclusive(self, path: str, data: bytes, *, mode: int = 0o644) -> bool:
        try:
            self._open_write(path, data, os.O_EXCL, mode)
        except FileExistsError:
            return False
        return True

    def _open_write(self, path: str, data: bytes, flag: int, mode: int) -> None:
        """Open path with O_CREAT|flag, write data whole and fsync it."""
        try:
            fd = os.open(self.real(path), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | flag, mode)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise HostError(f"cannot write {path}: its directory does not exist") from e
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
            raise HostError(f"{path} became a link while it was being written; nothing was written: run again") from e
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def exec_validator(self, argv: Sequence[str], path: str, data: bytes | None = None) -> Result | None:
        if shutil.which(argv[0]) is None:
            return None
        if data is None:
            real = self.real(path)
            return run_local([real if a == "{path}" else a for a in argv])
        return run_on_copy(argv, data)


def run_on_copy(argv: Sequence[str], data: bytes) -> Result:
    """Run argv on this machine with '{path}' standing for a private temporary file holding data, or with data on
    stdin when argv has no '{path}'."""
    if "{path}" not in argv:
        return run_local(list(argv), stdin=data)
    with tempfile.TemporaryDirectory(prefix="xenbook-check-") as tmp:
        copy = os.path.join(tmp, "candidate")
        with open(copy, "wb") as f:
            f.write(data)
        return run_local([copy if a == "{path}" else a for a in argv])


class LocalHost(RootedHost):
    """This machine, as root: commands through subprocess, files under '/' (SudoLocalHost is the one with sudo)."""

    def __init__(self):
        super().__init__("/")
        self.target = "local"

    def run(self, command: Command, *, timeout=None, on_line=None) -> Result:
        argv = command.argv
        return run_local(argv, stdin=command.stdin, timeout=timeout, on_line=on_line)

    def terminal(self, command: Command) -> list[str]:
        return list(command.argv)


class ChrootHost(RootedHost):
    """An installed system below DIR: commands through arch-chroot, files read and written under DIR."""

    chroot = True

    def __init__(self, root: str, sudo: bool = False):
        super().__init__(root)
        if not os.path.isdir(self.root):
            raise HostError(f"chroot directory {root} does not exist")
        self.target = f"chroot:{self.root}"
        self.sudo = sudo and os.geteuid() != 0

    def run(self, command: Command, *, timeout=None, on_line=None) -> Result:
        argv = (("sudo", "-n", "--") if self.sudo else ()) + ("arch-chroot", self.root) + command.argv
        return run_local(argv, stdin=command.stdin, timeout=timeout, on_line=on_line)
