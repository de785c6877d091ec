"""Target strings (local, ssh:[user@]host[:port], chroot:DIR, and the kinds other packages add, such as the sample
host's sample[:DIR]) parsed and opened as hosts."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

from xenbook.connectors.remote import SudoLocalHost
from xenbook.connectors.ssh import SshHost
from xenbook.connectors.rooted import ChrootHost, LocalHost
from xenbook.core.errors import ParameterError, XenbookError
from xenbook.core.host import Host

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")
GROUP = "xenbook.targets"  # entry points naming other packages' TargetKind objects
BUILTIN = ("local", "ssh", "chroot")


@dataclass(frozen=True)
class Target:
    """A parsed target string."""

    kind: str  # local, ssh, chroot, or a kind another package adds
    path: str = ""  # chroot (and plug-in) directory
    user: str = ""
    host: str = ""
    port: int = 22

    def __str__(self) -> str:
        if self.kind == "ssh":
            return f"ssh:{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port != 22 else ''}"
        return f"{self.kind}:{self.path}" if self.path else self.kind


@dataclass(frozen=True)
class TargetKind:
    """A kind of target another package adds under the xenbook.targets entry points."""

    name: str
    usage: str  # how it is written, e.g. sample[:DIR]
    parse: Callable[[str], Target]  # the text after "name:" ("" when none) -> Target; ValueError names the rule
    open: Callable[[Target], Host]
    simulated: bool = False  # its hosts are no real machine


@functools.cache
def plugin_kinds() -> dict[str, TargetKind]:
    kinds = {}
    for ep in entry_points(group=GROUP):
        kind = ep.load()
        if not isinstance(kind, TargetKind) or kind.name in BUILTIN or kind.name in kinds:
            raise XenbookError(f"the target kind registered as {ep.name} under {GROUP} is no TargetKind, or its "
                               "name is taken")
        kinds[kind.name] = kind
    return kinds


def usage() -> str:
    forms = ["local", "ssh:[user@]host[:port]", "chroot:DIR"] + [k.usage for k in plugin_kinds().values()]
    return f"must be {', '.join(forms[:-1])} or {forms[-1]}"


def simulated(target: Target) -> bool:
    """Whether the target is a simulated machine (a kind that says so)."""
    kind = plugin_kinds().get(target.kind)
    return bool(kind and kind.simulated)


def parse_target(text: str, param: str = "target") -> Target:
    """Parse a target string, or raise ParameterError naming the rule it broke."""
    def bad(rule: str):
        return ParameterError([(param, text, rule)])

    if not isinstance(text, str) or not text or text != text.strip() or any(c in text for c in "\n\r\t\x00"):
        raise bad(usage())
    kind, _, rest = text.partition(":")
    if kind == "local" and not rest:
        return Target("local")
    if kind in plugin_kinds():
        try:
            return plugin_kinds()[kind].parse(rest)
        except ValueError as e:
            raise bad(str(e)) from None
    if kind == "chroot":
        if not rest:
            raise bad("chroot needs a directory: chroot:/mnt")
        return Target("chroot", os.path.abspath(os.path.expanduser(rest)))
    if kind == "ssh":
        user, at, hostport = rest.rpartition("@")
        if at and not _USER.fullmatch(user):
            raise bad(f"ssh user {user!r} is not a valid user name")
        host, port = hostport, 22
        m = re.fullmatch(r"^(\[[^\]]+\]|[^:]+)(?::(\d+))?$", hostport)
        if not m:
            raise bad("ssh target must be ssh:[user@]host[:port]")
        host = m.group(1)
        if m.group(2):
            port = int(m.group(2))
            if not 1 <= port <= 65535:
                raise bad("ssh port must be between 1 and 65535")
        if not (_HOSTNAME.fullmatch(host) or _IPV6.fullmatch(host)) or host.startswith("-"):
            raise bad(f"ssh host {host!r} is not a valid host name or address")
        return Target("ssh", user=user, host=host.strip("[]"), port=port)
    raise bad(usage())


def open_host(target: str | Target, *, sudo: bool = False, ssh_config: str | None = None) -> Host:
    """Open the host a target names."""
    t = parse_target(target) if isinstance(target, str) else target
    if t.kind == "local":
        return SudoLocalHost() if sudo and os.geteuid() != 0 else LocalHost()
    if t.kind == "chroot":
        return ChrootHost(t.path, sudo=sudo)
    if t.kind == "ssh":
        return SshHost(t.host, user=t.user or None, port=t.port, sudo=sudo, config=ssh_config)
    return plugin_kinds()[t.kind].open(t)
