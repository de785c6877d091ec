"""Facts about packages and building them: what pacman has installed, PKGBUILD metadata, users, free space."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from xenbook.core.commands import Command, output_tail
from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.facts.system import free_space

PACMAN_LOCK = "/var/lib/pacman/db.lck"
PACMAN_SYNC = "/var/lib/pacman/sync"
_NOT_FOUND = re.compile(r"^error: package '(.+)' was not found$")
_PACKAGE_FILE = re.compile(r"^(?P<name>.+)-(?P<ver>[^-/]+-[^-/]+)-(?P<arch>[^-/]+)\.pkg\.tar(\.[a-z0-9]+)?$")


PACMAN_MISSING = ("pacman is missing on the host (or not on its PATH): this is not an Arch Linux host, or its "
                  "pacman package is broken. Run the runbook on Arch Linux, where pacman -V works")


def _failed(command: Command, result) -> HostError:
    return HostError(f"{command} exited {result.returncode}{output_tail(result.stderr or result.stdout, 3)}")


def pacman_missing(command: Command, result) -> HostError:
    """The error for a pacman query that exited 127 because the shell found no pacman."""
    return HostError(f"pacman is missing: {_failed(command, result)}", remedy=PACMAN_MISSING)


def _not_found(result) -> bool:
    """True when pacman exited 127 with no output: the shell found no pacman (pacman -T's own 127 lists deps)."""
    return result.returncode == 127 and not result.stdout.strip()


def installed_versions(host: Host, names: list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """pacman -Q: the installed version of each name (exact package names), None when it is not installed."""
    if not names:
        return {}
    command = Command.of("pacman", "-Q", *names)
    result = host.run(command)
    if result.returncode == 127:  # pacman -Q never exits 127 itself
        raise pacman_missing(command, result)
    found: dict[str, str | None] = {n: None for n in names}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in found:
            found[parts[0]] = parts[1]
    unexplained = [line for line in result.stderr.splitlines()  # warnings: e.g. a repository not synced yet
                   if line.strip() and not _NOT_FOUND.match(line) and not line.startswith("warning: ")]
    if result.returncode not in (0, 1) or unexplained:
        raise _failed(command, result)
    return found


def unsatisfied(host: Host, deps: list[str] | tuple[str, ...]) -> list[str]:
    """pacman -T: the dependency strings installed packages do not satisfy (provides and versions count)."""
    if not deps:
        return []
    command = Command.of("pacman", "-T", *deps)
    result = host.run(command)
    if result.returncode == 0:
        return []
    if _not_found(result):  # pacman -T also exits 127, but then it names each unsatisfied dependency
        raise pacman_missing(command, result)
    if result.returncode == 127:
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]
    raise _failed(command, result)


def version_matches(installed: str, wanted: str) -> bool:
    """True when installed (EPOCH:VER-REL) is wanted, which may leave out the -REL part."""
    return installed == wanted or ("-" not in wanted and installed.rsplit("-", 1)[0] == wanted)


def pins(versions: list[str]) -> dict[str, str]:
    """NAME:VERSION parameter items as a mapping."""
    return dict(item.split(":", 1) for item in versions)


def pacman_locked(host: Host) -> bool:
    return host.exists(PACMAN_LOCK)


def active_sections(pacman_conf: str) -> list[str]:
    """Section names of pacman.conf that are not commented out, in order; pacman.conf(5): a comment is a line that
    begins with '#', never the end of one, so "[multilib] # on" is no section (pacman refuses it as a directive)."""
    out = []
    for line in pacman_conf.splitlines():
        m = re.fullmatch(r"\[(.*)\]", line.strip())
        if m:
            out.append(m.group(1))
    return out


def nearest_existing(host: Host, path: str) -> str:
    """path, or its closest parent that exists."""
    while path != "/" and not host.exists(path):
        path = posixpath.dirname(path)
    return path


def free_bytes(host: Host, path: str) -> tuple[str, int]:
    """(the path df measured, bytes available to unprivileged users) for path or its nearest existing parent."""
    where = nearest_existing(host, path)
    space = free_space(host, where)
    if space is None:
        raise HostError(f"df cannot measure the free space at {where}")
    return where, space.avail


@dataclass(frozen=True)
class Account:
    """A passwd entry."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str


def account(host: Host, user: str) -> Account | None:
    """getent passwd user, or None when there is no such user."""
    command = Command.of("getent", "passwd", user)
    result = host.run(command)
    if result.returncode == 2:
        return None
    fields = result.stdout.strip().split(":")
    if not result.ok or len(fields) != 7 or not fields[2].isdigit() or not fields[3].isdigit():
        raise _failed(command, result)
    return Account(fields[0], int(fields[2]), int(fields[3]), fields[5], fields[6])


def cpu_count(host: Host) -> int:
    """The CPUs available to a build (nproc)."""
    result = host.run(Command.of("nproc"))
    text = result.stdout.strip()
    return int(text) if result.ok and text.isdigit() and int(text) > 0 else 1


@dataclass
class SrcInfo:
    """A PKGBUILD's metadata as makepkg --printsrcinfo prints it: the pkgbase and each split package."""

    pkgbase: str = ""
    base: dict[str, list[str]] = field(default_factory=dict)
    packages: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def value(self, key: str, default: str = "") -> str:
        return (self.base.get(key) or [default])[0]

    @property
    def full_version(self) -> str:
        epoch = self.value("epoch")
        return f"{epoch + ':' if epoch else ''}{self.value('pkgver')}-{self.value('pkgrel')}"

    def get(self, pkgname: str, key: str) -> list[str]:
        """A package's value of key: its own when it overrides it, else the pkgbase's."""
        own = self.packages.get(pkgname, {})
        return own[key] if key in own else self.base.get(key, [])

    def build_deps(self, pkgname: str) -> list[str]:
        """What building the pkgbase and installing pkgname need: depends, makedepends, checkdepends."""
        deps = self.base.get("depends", []) + self.base.get("makedepends", []) + self.base.get("checkdepends", [])
        deps += self.get(pkgname, "depends")
        arch = [a for a in self.base if a.endswith("_x86_64") and a.split("_", 1)[0] in ("depends", "makedepends")]
        deps += [d for key in sorted(arch) for d in self.base[key]]
        return list(dict.fromkeys(d for d in deps if d))


def parse_srcinfo(text: str) -> SrcInfo:
    """.SRCINFO text ('key = value' lines; pkgname lines start a split package's section)."""
    info, current = SrcInfo(), None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        if not sep:
            raise ValueError(f"not a .SRCINFO line: {raw!r}")
        if key == "pkgbase":
            info.pkgbase, current = value, info.base
        elif key == "pkgname":
            current = info.packages.setdefault(value, {})
        elif current is None:
            raise ValueError(f".SRCINFO has {key} before pkgbase")
        else:
            current.setdefault(key, []).append(value)
    if not info.pkgbase or not info.packages:
        raise ValueError(".SRCINFO names no pkgbase or no pkgname")
    return info


def package_files(packagelist: str, pkgname: str) -> list[str]:
    """The package files makepkg --packagelist names for pkgname (not its split siblings or -debug)."""
    out = []
    for line in packagelist.splitlines():
        m = _PACKAGE_FILE.match(posixpath.basename(line.strip()))
        if m and m.group("name") == pkgname:
            out.append(line.strip())
    return out
