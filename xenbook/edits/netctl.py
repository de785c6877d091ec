"""netctl profiles (netctl.profile(5)): bash files of plain and array assignments, read without running them."""

from __future__ import annotations

import re
import shlex

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_SAFE = re.compile(r"^[A-Za-z0-9 _.,:/@%+=*-]*$")
# what gives an interface its addresses, routes and DNS: moved from the uplink's profile onto the bridge's
IP_KEYS = ("IP", "Address", "Gateway", "Routes", "IP6", "Address6", "Gateway6", "Routes6", "IPCustom",
           "Hostname", "DHCPClient", "DHCPReleaseOnStop", "DHCP6", "DHCPClientOptions", "DHCP6ClientOptions",
           "TimeoutDHCP", "TimeoutDAD", "DNS", "DNSDomain", "DNSSearch", "DNSOptions")


def parse(text: str) -> dict[str, str | list[str]]:
    """The last value of each assignment: a str, or a list for Name=(...) arrays (also over several lines).
    Lines that bash would treat specially (commands, substitutions) are skipped, never run."""
    out: dict[str, str | list[str]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _ASSIGN.match(lines[i])
        i += 1
        if not m:
            continue
        name, rest = m.group(1), m.group(2)
        if rest.startswith("("):
            body = rest[1:]
            while ")" not in _unquoted(body) and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            body = body[:_closing(body)] if _closing(body) >= 0 else body
            try:
                out[name] = shlex.split(body, comments=True)
            except ValueError:
                continue
        else:
            try:
                words = shlex.split(rest, comments=True)
            except ValueError:
                continue
            out[name] = " ".join(words)
    return out


def _unquoted(text: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "", text)


def _closing(text: str) -> int:
    """The index of the ) that closes an array body, outside quotes; -1 when there is none."""
    quote = ""
    for n, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ")":
            return n
    return -1


def render(pairs: list[tuple[str, str | list[str]]], header: str = "") -> str:
    """Name='value' and Name=('a' 'b') lines; ValueError for a value xenbook does not write."""
    out = header
    for name, value in pairs:
        words = value if isinstance(value, list) else [value]
        for w in words:
            if not _SAFE.match(w):
                raise ValueError(f"{name} value {w!r} is not something xenbook writes into a netctl profile")
        out += (f"{name}=(" + " ".join(f"'{w}'" for w in words) + ")\n" if isinstance(value, list) else
                f"{name}='{value}'\n")
    return out


def interfaces(profile: dict[str, str | list[str]]) -> list[str]:
    """The interfaces a profile takes: BindsToInterfaces, else Interface (as netctl's enable reads it)."""
    binds = profile.get("BindsToInterfaces")
    if isinstance(binds, list):
        return binds
    interface = profile.get("Interface")
    return [interface] if isinstance(interface, str) and interface else []
