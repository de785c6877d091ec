"""Target strings (local, ssh:[user@]host[:port], chroot:DIR, sample[:DIR]) parsed and opened as hosts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import ParameterError

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")


def default_sample_dir() -> str:
    """The per-user directory of the default sample host."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "xenbook", "sample")


@dataclass(frozen=True)
class Target:
    """A parsed target string."""

    kind: str  # local, ssh, chroot, sample
    path: str = ""  # chroot and sample directory
    user: str = ""
    host: str = ""
    port: int = 22

    def __str__(self) -> str:
        if self.kind == "ssh":
            return f"ssh:{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port != 22 else ''}"
        return f"{self.kind}:{self.path}" if self.path else self.kind


def parse_target(text: str, param: str = "target") -> Target:
    """Parse a target string, or raise ParameterError naming the rule it broke."""
    def bad(rule: str):
        return ParameterError([(param, text, rule)])

    if not isinstance(text, str) or not text or text != text.strip() or any(c in text for c in "\n\r\t\x00"):
        raise bad("must be local, ssh:[user@]host[:port], chroot:DIR or sample[:DIR]")
    kind, _, rest = text.partition(":")
    if kind == "local" and not rest:
        return Target("local")
    if kind == "sample":
        path = os.path.abspath(os.path.expanduser(rest)) if rest else default_sample_dir()
        return Target("sample", path)
    if kind == "chroot":
        if not rest:
            raise bad("chroot needs a directory: chroot:/mnt")
        return Target("chroot", os.path.abspath(os.path.expanduser(rest)))
    if kind == "ssh":
        user, at, hostport = rest.rpartition("@")
        if at and not _USER.match(user):
            raise bad(f"ssh user {user!r} is not a valid user name")
        host, port = hostport, 22
        m = re.match(r"^(\[[^\]]+\]|[^:]+)(?::(\d+))?$", hostport)
        if not m:
            raise bad("ssh target must be ssh:[user@]host[:port]")
        host = m.group(1)
        if m.group(2):
            port = int(m.group(2))
            if not 1 <= port <= 65535:
                raise bad("ssh port must be between 1 and 65535")
        if not (_HOSTNAME.match(host) or _IPV6.match(host)) or host.startswith("-"):
            raise bad(f"ssh host {host!r} is not a valid host name or address")
        return Target("ssh", user=user, host=host.strip("[]"), port=port)
    raise bad("must be local, ssh:[user@]host[:port], chroot:DIR or sample[:DIR]")


def open_host(target: str | Target, *, sudo: bool = False, ssh_config: str | None = None):
    """Open the host a target names; the sample host is created on first use."""
    t = parse_target(target) if isinstance(target, str) else target
    if t.kind == "local":
        from .hosts.rooted import LocalHost
        if sudo and os.geteuid() != 0:
            from .hosts.remote import SudoLocalHost
            return SudoLocalHost()
        return LocalHost()
    if t.kind == "chroot":
        from .hosts.rooted import ChrootHost
        return ChrootHost(t.path, sudo=sudo)
    if t.kind == "ssh":
        from .hosts.remote import SshHost
        return SshHost(t.host, user=t.user or None, port=t.port, sudo=sudo, config=ssh_config)
    from .sample import SampleHost
    return SampleHost.open(t.path, renew=t.path == default_sample_dir())
