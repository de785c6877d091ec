"""Facts about the system as a whole: memory, the distribution, free space on a filesystem."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from xenbook.core.commands import Command
from xenbook.core.host import Host


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as a mapping of field to value (kB for the sized fields, a count for HugePages_*)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        parts = value.split()
        if sep and parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


def memory_mib(host: Host) -> int | None:
    """The memory this kernel sees (MemTotal) in MiB, or None when /proc/meminfo is missing."""
    text = host.read_text("/proc/meminfo")
    total = parse_meminfo(text).get("MemTotal") if text is not None else None
    return None if total is None else total // 1024


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5) KEY=value lines (values shell-quoted) as a mapping."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        key, sep, value = line.partition("=")
        if not sep or line.startswith("#") or not key.isidentifier():
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        out[key] = " ".join(words)
    return out


def os_release(host: Host) -> dict[str, str] | None:
    """/etc/os-release (or /usr/lib/os-release) as a mapping, or None when neither exists."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        text = host.read_text(path)
        if text is not None:
            return parse_os_release(text)
    return None


@dataclass(frozen=True)
class Space:
    """A filesystem's size and free space for unprivileged use, in bytes, as df reports them."""

    avail: int
    size: int
    fstype: str

    @property
    def avail_mib(self) -> int:
        return self.avail // (1024 * 1024)

    @property
    def size_mib(self) -> int:
        return self.size // (1024 * 1024)


def parse_df(text: str) -> Space | None:
    """The first filesystem row of `df -B1 --output=avail,size,fstype`, or None when there is none."""
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    if not rows or len(rows[0]) != 3 or not rows[0][0].isdigit() or not rows[0][1].isdigit():
        return None
    return Space(int(rows[0][0]), int(rows[0][1]), rows[0][2])


def free_space(host: Host, path: str) -> Space | None:
    """Free space of the filesystem holding path (df), or None when df fails."""
    result = host.run(Command.of("df", "-B1", "--output=avail,size,fstype", path))
    return parse_df(result.stdout) if result.ok else None
