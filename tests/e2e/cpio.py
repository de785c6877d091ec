"""A gzip-compressed initramfs (cpio "newc", the format Linux unpacks) built from a file tree held in memory.

Directories, regular files, symlinks and character devices only: enough for a /init, busybox, the Xen tools with
their libraries, kernel modules and /dev/console, which the kernel must find before /init runs.
"""

from __future__ import annotations

import gzip
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# Debian 12 has a merged /usr: /lib, /bin and /sbin are links into /usr, and the tree keeps that layout.
MERGED = {"lib": "usr/lib", "lib64": "usr/lib64", "bin": "usr/bin", "sbin": "usr/sbin"}


@dataclass
class Entry:
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def _norm(path: str) -> str:
    """A path in the tree: relative, with /lib, /bin, ... folded into /usr as the merged layout has them."""
    parts = PurePosixPath("/" + path.lstrip("/")).parts[1:]
    if parts and parts[0] in MERGED:
        parts = tuple(MERGED[parts[0]].split("/")) + parts[1:]
    return "/".join(parts)


@dataclass
class Tree:
    entries: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self):
        for top, target in MERGED.items():
            self.dir(target)
            self.entries[top] = Entry(stat.S_IFLNK | 0o777, target.encode())

    def dir(self, path: str, mode: int = 0o755) -> None:
        path = _norm(path)
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            self.entries.setdefault("/".join(parts[:i]), Entry(stat.S_IFDIR | mode))

    def _parent(self, path: str) -> str:
        path = _norm(path)
        if "/" in path:
            self.dir(path.rsplit("/", 1)[0])
        return path

    def data(self, path: str, data: bytes | str, mode: int = 0o644) -> None:
        data = data.encode() if isinstance(data, str) else data
        self.entries[self._parent(path)] = Entry(stat.S_IFREG | mode, data)

    def file(self, path: str, source: Path, mode: int | None = None) -> None:
        """SOURCE's content (symlinks followed) at PATH, with SOURCE's mode unless MODE is given."""
        source = Path(source).resolve()
        self.data(path, source.read_bytes(), stat.S_IMODE(source.stat().st_mode) if mode is None else mode)

    def link(self, path: str, target: str) -> None:
        path = self._parent(path)
        if path not in self.entries:  # a real file there wins over a link (e.g. flock over a busybox applet)
            self.entries[path] = Entry(stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        self.entries[self._parent(path)] = Entry(stat.S_IFCHR | mode, rdev=(major, minor))

    def binary(self, source: str | Path, path: str | None = None) -> None:
        """An ELF program or library with every library ldd says it needs, each at the path ldd names."""
        self.file(path or str(source), Path(source))
        for lib in shared_libraries(Path(source)):
            if _norm(str(lib)) not in self.entries:
                self.file(str(lib), lib)

    def tree(self, path: str, source: Path) -> None:
        """A folder copied recursively (regular files and symlinks)."""
        for item in sorted(Path(source).rglob("*")):
            dest = f"{path}/{item.relative_to(source)}"
            if item.is_symlink():
                self.link(dest, str(Path(item).readlink()))
            elif item.is_dir():
                self.dir(dest)
            else:
                self.file(dest, item)

    def cpio(self) -> bytes:
        out = bytearray()
        for ino, (name, entry) in enumerate(sorted(self.entries.items()), start=1):
            out += _record(ino, name, entry)
        out += _record(0, "TRAILER!!!", Entry(0))
        return gzip.compress(bytes(out), compresslevel=6, mtime=0)

    def write(self, dest: Path) -> Path:
        dest.write_bytes(self.cpio())
        return dest


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _record(ino: int, name: str, entry: Entry) -> bytes:
    encoded = name.encode() + b"\0"
    fields = [ino, entry.mode, 0, 0, 1, 0, len(entry.data), 0, 0, entry.rdev[0], entry.rdev[1], len(encoded), 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    return header + encoded + _pad(len(header) + len(encoded)) + entry.data + _pad(len(entry.data))


def shared_libraries(program: Path) -> list[Path]:
    """The libraries ldd lists for PROGRAM, the dynamic loader included (nothing for a static program)."""
    proc = subprocess.run(["ldd", str(program)], capture_output=True, text=True)
    libs = []
    for line in proc.stdout.splitlines():
        words = line.split()
        path = words[2] if len(words) >= 3 and words[1] == "=>" else words[0] if words else ""
        if path.startswith("/"):
            libs.append(Path(path))
    return libs


def library(name: str) -> Path:
    """Where the dynamic loader finds library NAME on this system (for libraries loaded at run time, which ldd
    cannot see, such as libgcc_s that glibc opens for pthread_cancel)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(name + " ") and "x86-64" in line:
            return Path(line.rsplit("=>", 1)[1].strip())
    raise FileNotFoundError(f"{name} is not in the dynamic loader's cache")


def tool(name: str) -> Path:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise FileNotFoundError(name)
    return Path(found)
