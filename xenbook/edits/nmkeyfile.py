"""NetworkManager keyfiles (nm-settings-keyfile(5)): connection profiles and conf.d files, parsed and rendered.

The format is GLib's key file: [group] headers, key=value lines, # comments; NetworkManager reads a profile only
when it is a regular file owned by root with mode 0600."""

from __future__ import annotations

import re
import uuid

from xenbook.edits import inifile

Groups = inifile.Sections
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_VALUE = re.compile(r"^[A-Za-z0-9 _.,:;/@%+=*~?-]*$")
IP_GROUPS = ("ipv4", "ipv6")  # the groups that carry a profile's addresses, routes and DNS
NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # RFC 4122's URL namespace


def parse(text: str) -> Groups:
    """[(section, [(key, value), ...]), ...] in file order; comments (#) and blank lines dropped."""
    return inifile.parse(text, '#')


def value(groups: Groups, group: str, key: str, default: str = "") -> str:
    found = [v for name, pairs in groups if name == group for k, v in pairs if k == key]
    return found[-1] if found else default


def render(groups: Groups, header: str = "") -> str:
    """The file text; ValueError for keys or values xenbook does not write."""
    chunks = []
    for name, pairs in groups:
        for k, v in pairs:
            if not _KEY.match(k) or not _VALUE.match(v):
                raise ValueError(f"{k}={v!r} is not something xenbook writes into a NetworkManager keyfile")
        chunks.append(f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in pairs))
    return header + "\n".join(chunks)


def stable_uuid(name: str) -> str:
    """The same connection UUID on every run for the same profile name, so a rewrite changes nothing."""
    return str(uuid.uuid5(NAMESPACE, f"xenbook:nm:{name}"))


def ip_settings(groups: Groups) -> Groups:
    """The [ipv4] and [ipv6] groups of a profile, to move from an uplink onto the bridge (DHCP when it has none,
    as NetworkManager's automatic wired profile does)."""
    moved = [(name, list(pairs)) for name, pairs in groups if name in IP_GROUPS]
    have = {name for name, _ in moved}
    return moved + [(g, [("method", "auto")]) for g in IP_GROUPS if g not in have]


def for_device(groups: Groups, ifname: str, mac: str) -> bool:
    """Whether NetworkManager could activate the profile on the Ethernet device ifname with the MAC mac."""
    if value(groups, "connection", "type") not in ("ethernet", "802-3-ethernet"):
        return False
    if value(groups, "connection", "master") or value(groups, "connection", "controller"):
        return False
    name = value(groups, "connection", "interface-name")
    bound = value(groups, "ethernet", "mac-address").lower()
    return (not name or name == ifname) and (not bound or bound == mac.lower())


def autoconnects(groups: Groups) -> bool:
    return value(groups, "connection", "autoconnect", "true").lower() not in ("false", "0", "no")


def priority(groups: Groups) -> int:
    try:
        return int(value(groups, "connection", "autoconnect-priority", "0"))
    except ValueError:
        return 0


def check_file(data: bytes) -> str | None:
    """Why NetworkManager would not read data as a profile xenbook wrote, or None."""
    groups = parse(data.decode("utf-8", "replace"))
    if not groups or groups[0][0] != "connection":
        return "the first group is not [connection]"
    missing = [k for k in ("id", "uuid", "type") if not value(groups, "connection", k)]
    return f"[connection] lacks {', '.join(missing)}" if missing else None
